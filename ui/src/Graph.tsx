// The workflow drawn with React Flow, laid out top-down by dagre: the trigger node (the entry
// points), then every step as a box saying what it does, with a "+" on each way out.
import { useEffect, useMemo } from "react";
import {
  Background,
  Controls,
  Edge,
  Handle,
  MarkerType,
  Node,
  NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
} from "@xyflow/react";
import dagre from "@dagrejs/dagre";
import type { Problem } from "./api";
import { Doc, END, Out, kindOf, outs, steps } from "./doc";
import { Schemas } from "./schema";
import { describe, entry } from "./describe";
import { t } from "./i18n";
import { kindName } from "./schemaWords";

const WIDTH = 250;
const HEIGHT = 96;

export type GraphActions = {
  onAdd: (from: string, branch: string | null) => void;
  onSelect: (id: string) => void;
  canAdd?: (from: string, branch: string | null) => boolean; // false: that "+" takes no step now
};

type StepData = {
  id: string;
  kind: string;
  words: string;
  ways: Out[];
  problems: number;
  selected: boolean;
  first: boolean;
  actions: GraphActions;
};

type TriggerData = { entries: string[]; problems: number; actions: GraphActions };

export function branchLabel(out: Out, kind = ""): string {
  const numbered = /^(path|branch)_(\d+)$/.exec(out.branch);
  if (numbered) return `${t.words[numbered[1] as "path" | "branch"]} ${numbered[2]}`;
  return t.kindBranches[kind]?.[out.branch] || t.branches[out.branch] || out.branch.replace(/_/g, " ");
}

type AddProps = { id: string; kind?: string; ways: Out[]; actions: GraphActions };

function AddButtons({ id, kind, ways, actions }: AddProps) {
  const open = ways.filter((w) => !w.jump);
  return (
    <div className="adds nodrag">
      {open.map((w) => (
        <button
          key={w.branch}
          type="button"
          className="add"
          title={t.add}
          data-add-after={id}
          data-branch={w.only ? undefined : w.branch}
          disabled={actions.canAdd ? !actions.canAdd(id, w.only ? null : w.branch) : false}
          onClick={(e) => {
            e.stopPropagation();
            actions.onAdd(id, w.only ? null : w.branch);
          }}
        >
          {w.only ? "+" : `${branchLabel(w, kind)} +`}
        </button>
      ))}
    </div>
  );
}

function StepNode({ data }: NodeProps<Node<StepData>>) {
  return (
    <div
      className={`step-node${data.selected ? " selected" : ""}${data.problems ? " has-problems" : ""}`}
      data-step={data.id}
      data-kind={data.kind}
    >
      <Handle type="target" position={Position.Top} />
      <div className="step-head">
        <span className="kind">{kindName(data.kind)}</span>
        {data.problems ? <span className="badge" title={t.problems}>{data.problems}</span> : null}
      </div>
      <div className="words" data-words={data.id}>{data.words || "…"}</div>
      <div className="step-id">{data.id}</div>
      <AddButtons id={data.id} kind={data.kind} ways={data.ways} actions={data.actions} />
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

function TriggerNode({ data }: NodeProps<Node<TriggerData>>) {
  return (
    <div className="trigger-node" data-step="entry">
      <div className="step-head">
        <span className="kind">{t.entryPoints}</span>
        {data.problems ? <span className="badge">{data.problems}</span> : null}
      </div>
      {data.entries.map((e, i) => <div className="words" key={i}>{e}</div>)}
      <AddButtons id="entry" ways={[{ branch: "next", target: END, only: true }]} actions={data.actions} />
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

const nodeTypes = { step: StepNode, trigger: TriggerNode };

function layout(nodes: Node[], edges: Edge[]): Node[] {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 50, ranksep: 56, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((n) => graph.setNode(n.id, { width: WIDTH, height: HEIGHT }));
  edges.filter((e) => !e.data?.jump).forEach((e) => graph.setEdge(e.source, e.target));
  dagre.layout(graph);
  return nodes.map((n) => {
    const at = graph.node(n.id);
    return { ...n, position: { x: at.x - WIDTH / 2, y: at.y - HEIGHT / 2 } };
  });
}

type Props = {
  doc: Doc;
  schemas: Schemas;
  problems: Problem[];
  selected: string | null;
  actions: GraphActions;
};

function Drawing({ doc, schemas, problems, selected, actions }: Props) {
  const flow = useReactFlow();
  const { nodes, edges } = useMemo(() => {
    const list = steps(doc);
    const count = (id: string | null) => problems.filter((p) => (p.step ?? null) === id).length;
    const entries = (doc.entry_points || []).map(entry);
    const nodes: Node[] = [
      { id: "__entry", type: "trigger", position: { x: 0, y: 0 }, data: { entries, problems: count(null), actions } },
    ];
    const edges: Edge[] = [];
    const ids = new Set(list.map((s) => s.id));
    if (list[0]) edges.push({ id: "__entry>", source: "__entry", target: list[0].id, markerEnd: { type: MarkerType.ArrowClosed } });
    for (const [i, step] of list.entries()) {
      const kind = kindOf(schemas, step);
      const ways = outs(schemas, step);
      nodes.push({
        id: step.id,
        type: "step",
        position: { x: 0, y: 0 },
        data: { id: step.id, kind, words: describe(kind, step[kind]), ways, problems: count(step.id), selected: selected === step.id, first: i === 0, actions },
      });
      for (const way of ways) {
        if (way.target === END || !ids.has(way.target)) continue;
        edges.push({
          id: `${step.id}>${way.branch}`,
          source: step.id,
          target: way.target,
          label: way.only ? undefined : branchLabel(way, kind),
          animated: !!way.jump,
          data: { jump: !!way.jump },
          className: way.jump ? "jump" : undefined,
          labelBgPadding: [6, 3],
          labelBgBorderRadius: 4,
          markerEnd: { type: MarkerType.ArrowClosed },
        });
      }
    }
    return { nodes: layout(nodes, edges), edges };
  }, [doc, schemas, problems, selected, actions]);
  const shape = nodes.map((n) => n.id).join(",");
  useEffect(() => {
    // The whole graph when it fits readable (zoom ≥ 0.6), else its top at a readable size:
    // the wheel scrolls down the rest.
    const fit = () => {
      const pane = document.querySelector(".canvas");
      if (!pane || !nodes.length) return;
      const xs = nodes.map((n) => n.position.x);
      const ys = nodes.map((n) => n.position.y);
      const [minX, minY] = [Math.min(...xs), Math.min(...ys)];
      const width = Math.max(...xs) + WIDTH - minX;
      const height = Math.max(...ys) + HEIGHT - minY;
      const { clientWidth: w, clientHeight: h } = pane;
      // On a phone the boxes stay readable (0.85) and the graph pans sideways instead.
      const zoom = Math.max(w < 600 ? 0.85 : 0.6, Math.min(1, (w - 40) / width, (h - 40) / height));
      const x = (w - width * zoom) / 2 - minX * zoom;
      const y = height * zoom <= h - 40 ? (h - height * zoom) / 2 - minY * zoom : 20 - minY * zoom;
      flow.setViewport({ x, y, zoom });
    };
    const timer = setTimeout(fit, 30);
    window.addEventListener("resize", fit);
    return () => {
      clearTimeout(timer);
      window.removeEventListener("resize", fit);
    };
  }, [shape, flow]);
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      nodesDraggable={false}
      nodesConnectable={false}
      onNodeClick={(_, node) => node.id !== "__entry" && actions.onSelect(node.id)}
      panOnScroll
      minZoom={0.2}
    >
      <Background />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}

export function Graph(props: Props) {
  return (
    <ReactFlowProvider>
      <Drawing {...props} />
    </ReactFlowProvider>
  );
}
