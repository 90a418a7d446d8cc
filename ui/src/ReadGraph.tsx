// A published version drawn for reading: the trigger node (the entry points in words), every
// step saying what it does with its counts, each way out with the runs that took it and their
// share of those that reached the step. dagre places the nodes and the edge labels together,
// so no label lies under a box; the drawing takes the page's width and its own height.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import {
  BaseEdge,
  Edge,
  EdgeLabelRenderer,
  EdgeProps,
  Handle,
  MarkerType,
  Node,
  NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  getSmoothStepPath,
  useReactFlow,
} from "@xyflow/react";
import dagre from "@dagrejs/dagre";
import { describe, entry } from "./describe";
import { branchLabel } from "./Graph";
import { t } from "./i18n";

export type GraphNodeInfo = {
  id: string; kind: string; name: string | null; disabled: boolean; entered: number; now: number;
};
export type GraphEdgeInfo = {
  source: string; branch: string; target: string; back: boolean; count: number; waiting: number;
};
export type RunCounts = Record<"entered" | "inside" | "active" | "waiting" | "completed" | "exited" | "failed", number>;
export type ServerGraph = {
  key: string; version: number; entries: string[]; nodes: GraphNodeInfo[]; edges: GraphEdgeInfo[]; runs: RunCounts;
};
export type StepStat = {
  id: string; kind: string | null; entered: number; waiting_now: number;
  messages: { total: number; queued: number; sent: number; failed: number; suppressed: number };
  opened: number; clicked: number; conversions: number;
};

export type Figure = { name: string; label: string; value: number };

// What suits the step's channel: emails are opened and clicked, SMS and WhatsApp messages are
// only sent (no opens), webhooks are calls that succeed or fail.
export function channelFigures(kind: string, stat: StepStat | undefined): Figure[] {
  const r = t.reading;
  if (!stat) return [];
  const m = stat.messages;
  if (kind === "send_email") {
    return [
      { name: "sent", label: r.sent, value: m.sent },
      { name: "opened", label: r.opened, value: stat.opened },
      { name: "clicked", label: r.clicked, value: stat.clicked },
      ...(m.failed ? [{ name: "failed", label: r.failed, value: m.failed }] : []),
    ];
  }
  if (kind === "send_sms" || kind === "send_whatsapp" || kind === "send_notification") {
    return [
      { name: "sent", label: r.sent, value: m.sent },
      ...(m.failed ? [{ name: "failed", label: r.failed, value: m.failed }] : []),
    ];
  }
  if (kind === "call_webhook") {
    return [
      { name: "calls", label: r.calls, value: m.sent + m.failed },
      { name: "failures", label: r.failures, value: m.failed },
    ];
  }
  if (kind === "record_conversion") return [{ name: "conversions", label: r.conversions, value: stat.conversions }];
  return [];
}

export function percent(part: number, whole: number): number | null {
  return whole > 0 ? Math.round((100 * part) / whole) : null;
}

const WIDE = 240;
const NARROW = 180; // boxes on a phone: the drawing stays readable at a larger zoom
const TRIGGER = "__entry";
const END = "end";

type Point = { x: number; y: number };

type StepData = {
  id: string; kind: string; words: string; entered: number; now: number; figures: Figure[];
  selected: boolean; disabled: boolean;
};
type TriggerData = { entries: string[]; entered: number };
type EndData = { completed: number };
type EdgeData = {
  points?: Point[]; at?: Point; label: string; source: string; branch: string; went: number; share: number | null; back: boolean;
};

function StepBox({ data }: NodeProps<Node<StepData>>) {
  return (
    <div className={`read-node${data.selected ? " selected" : ""}${data.disabled ? " disabled" : ""}`} data-step={data.id} data-kind={data.kind}>
      <Handle type="target" position={Position.Top} />
      <div className="step-head"><span className="kind" title={t.kinds[data.kind] || data.kind}>{t.kinds[data.kind] || data.kind}</span></div>
      <div className="words" data-words={data.id}>{data.words || "…"}</div>
      <div className="step-id">{data.id}</div>
      <div className="figures" data-counts={data.id}>
        <span data-entered={data.entered}><b>{data.entered}</b> {t.reading.entered}</span>
        <span data-now={data.now} className={data.now ? "now" : undefined}><b>{data.now}</b> {t.reading.now}</span>
      </div>
      {data.figures.length ? (
        <div className="figures channel" data-channel={data.id}>
          {data.figures.map((f) => <span key={f.name} data-figure={f.name} data-value={f.value}><b>{f.value}</b> {f.label}</span>)}
        </div>
      ) : null}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

function TriggerBox({ data }: NodeProps<Node<TriggerData>>) {
  return (
    <div className="read-node trigger" data-step="entry">
      <div className="step-head"><span className="kind">{t.reading.startsWhen}</span></div>
      {data.entries.map((e, i) => <div className="words" key={i} data-entry={i}>{e}</div>)}
      <div className="figures"><span data-entered={data.entered}><b>{data.entered}</b> {t.reading.entered}</span></div>
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

function EndBox({ data }: NodeProps<Node<EndData>>) {
  return (
    <div className="read-node end" data-step="end">
      <Handle type="target" position={Position.Top} />
      <span className="kind">{t.reading.end}</span>
      <span data-completed={data.completed}><b>{data.completed}</b> {t.reading.runs.completed}</span>
    </div>
  );
}

// A smooth line through dagre's points: straight from the first, curving at each bend.
function through(points: Point[]): string {
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const mid = { x: (points[i].x + points[i + 1].x) / 2, y: (points[i].y + points[i + 1].y) / 2 };
    d += ` Q ${points[i].x} ${points[i].y} ${mid.x} ${mid.y}`;
  }
  const last = points[points.length - 1];
  return `${d} L ${last.x} ${last.y}`;
}

function CountedEdge(props: EdgeProps<Edge<EdgeData>>) {
  const { id, data, markerEnd, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition } = props;
  let path: string;
  let at: Point;
  if (data?.points && data.points.length > 1 && data.at) {
    path = through(data.points);
    at = data.at;
  } else {
    const [found, x, y] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, offset: 30 });
    path = found;
    at = { x, y };
  }
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} className={data?.back ? "jump" : undefined} />
      {data?.label ? (
        <EdgeLabelRenderer>
          <div
            className="edge-count nodrag nopan"
            style={{ transform: `translate(-50%, -50%) translate(${at.x}px, ${at.y}px)` }}
            data-source={data.source}
            data-branch={data.branch}
            data-count={data.went}
            data-percent={data.share ?? undefined}
          >
            {data.label}
          </div>
        </EdgeLabelRenderer>
      ) : null}
    </>
  );
}

const nodeTypes = { step: StepBox, trigger: TriggerBox, end: EndBox };
const edgeTypes = { counted: CountedEdge };

export type ReadProps = {
  graph: ServerGraph;
  doc: any;
  stats: Map<string, StepStat>;
  selected: string | null;
  onSelect: (id: string) => void;
};

type Laid = { nodes: Node[]; edges: Edge[]; width: number; height: number };

function labelText(edge: GraphEdgeInfo, kind: string, went: number, share: number | null, only: boolean): string {
  const name = only ? "" : `${branchLabel({ branch: edge.branch, target: edge.target }, kind)} · `;
  return `${name}${went}${share === null || only ? "" : ` (${share} %)`}`;
}

function build({ graph, doc, stats, selected }: ReadProps, box: number): Laid {
  const steps: any[] = Array.isArray(doc?.steps) ? doc.steps : [];
  const byId = new Map(steps.map((s) => [s.id, s]));
  const info = new Map(graph.nodes.map((n) => [n.id, n]));
  const ways = new Map<string, number>();
  graph.edges.forEach((e) => ways.set(e.source, (ways.get(e.source) || 0) + 1));
  const entries = (doc?.entry_points || []).map(entry);
  const nodes: Node[] = [
    { id: TRIGGER, type: "trigger", position: { x: 0, y: 0 }, data: { entries, entered: graph.runs.entered }, height: 70 + 18 * Math.max(1, entries.length) },
  ];
  // In the document's order, as the edges below.
  const place = new Map(steps.map((s, i) => [s.id, i]));
  const ordered = [...graph.nodes].sort((a, b) => (place.get(a.id) ?? 1e9) - (place.get(b.id) ?? 1e9));
  for (const n of ordered) {
    if (n.kind === END) {
      nodes.push({ id: END, type: "end", position: { x: 0, y: 0 }, data: { completed: n.entered }, height: 48 });
      continue;
    }
    const figures = channelFigures(n.kind, stats.get(n.id));
    const words = describe(n.kind, byId.get(n.id)?.[n.kind]);
    nodes.push({
      id: n.id, type: "step", position: { x: 0, y: 0 },
      data: { id: n.id, kind: n.kind, words, entered: n.entered, now: n.now, figures, selected: selected === n.id, disabled: n.disabled },
      height: (figures.length ? 132 : 110) + (box < WIDE && figures.length ? 16 : 0),
    });
  }
  const edges: Edge[] = [];
  const first = steps[0]?.id;
  if (first && info.has(first)) {
    const went = graph.runs.entered;
    edges.push({
      id: `${TRIGGER}>${first}`, source: TRIGGER, target: first, type: "counted", markerEnd: { type: MarkerType.ArrowClosed },
      data: { label: String(went), source: "entry", branch: "next", went, share: null, back: false },
    });
  }
  const rank = (id: string) => place.get(id) ?? 1e9;
  const waysOut = [...graph.edges].sort((a, b) => rank(a.source) - rank(b.source) || rank(a.target) - rank(b.target));
  for (const e of waysOut) {
    const from = info.get(e.source);
    const went = Math.max(0, e.count - e.waiting);
    const share = percent(went, from?.entered || 0);
    const only = (ways.get(e.source) || 0) === 1;
    edges.push({
      id: `${e.source}>${e.branch}`, source: e.source, target: e.target, type: "counted",
      markerEnd: { type: MarkerType.ArrowClosed },
      data: { label: labelText(e, from?.kind || "", went, share, only), source: e.source, branch: e.branch, went, share, back: e.back },
    });
  }
  return layout(nodes, edges, box);
}

// dagre places boxes and labels; edges keep its points, and each label its place.
function layout(nodes: Node[], edges: Edge[], box: number): Laid {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 40, edgesep: 16, marginx: 12, marginy: 12 });
  nodes.forEach((n) => graph.setNode(n.id, { width: n.type === "end" ? 190 : box, height: n.height }));
  // dagre sets the first way out rightmost when the drawing ties: given last, "yes" (then,
  // the first way) stands left of "no".
  for (const e of [...edges].reverse()) {
    const data = e.data as EdgeData;
    if (data.back) continue;
    graph.setEdge(e.source, e.target, { width: 8 + 7 * data.label.length, height: 22, labelpos: "c" }, e.id);
  }
  dagre.layout(graph);
  const placed = nodes.map((n) => {
    const at = graph.node(n.id);
    return { ...n, width: at.width, position: { x: at.x - at.width / 2, y: at.y - at.height / 2 }, style: { width: at.width, height: at.height } };
  });
  const drawn = edges.map((e) => {
    const data = e.data as EdgeData;
    if (data.back) return e;
    const found = graph.edge({ v: e.source, w: e.target, name: e.id }) as any;
    return { ...e, data: { ...data, points: found.points, at: { x: found.x, y: found.y } } };
  });
  const size = graph.graph();
  return { nodes: placed, edges: drawn, width: size.width || box, height: size.height || 100 };
}

const MIN_ZOOM = 0.55;

function Drawing(props: ReadProps) {
  const flow = useReactFlow();
  const holder = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const box = width && width < 600 ? NARROW : WIDE;
  const laid = useMemo(() => build(props, box), [props.graph, props.doc, props.stats, props.selected, box]);
  useLayoutEffect(() => {
    const box = holder.current;
    if (!box) return;
    const measure = () => setWidth(box.clientWidth);
    measure();
    const watcher = new ResizeObserver(measure);
    watcher.observe(box);
    return () => watcher.disconnect();
  }, []);
  // The whole drawing across the page's width (at most full size, at least readable); the
  // canvas is as tall as the drawing, so the page scrolls, not the canvas.
  const zoom = width ? Math.max(MIN_ZOOM, Math.min(1, width / laid.width)) : 1;
  const height = Math.ceil(laid.height * zoom);
  const shape = `${laid.width}x${laid.height}@${width}`;
  useEffect(() => {
    if (!width) return;
    flow.setViewport({ x: Math.max(0, (width - laid.width * zoom) / 2), y: 0, zoom });
  }, [shape, flow]);
  return (
    <div className="read-canvas" ref={holder} style={{ height }} data-zoom={zoom.toFixed(2)}>
      <ReactFlow
        nodes={laid.nodes}
        edges={laid.edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        onNodeClick={(_, node) => node.type === "step" && props.onSelect(node.id)}
        zoomOnScroll={false}
        zoomOnPinch={false}
        zoomOnDoubleClick={false}
        preventScrolling={false}
        panOnDrag={laid.width * zoom > width + 1}
        minZoom={0.2}
      />
    </div>
  );
}

export function ReadGraph(props: ReadProps) {
  return (
    <ReactFlowProvider>
      <Drawing {...props} />
    </ReactFlowProvider>
  );
}
