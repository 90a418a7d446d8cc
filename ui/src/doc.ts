// The workflow document as the builder edits it: plain JSON, changed only where the user
// acts, so a document applied from YAML saves back equal. Steps point at each other by id
// through their ways out; these functions rewire those pointers.
import { Schemas } from "./schema";

export type Doc = { [key: string]: any };
export type Step = { [key: string]: any };
export const END = "end";

export type Out = { branch: string; target: string; jump?: boolean; only?: boolean };

export function kindOf(schemas: Schemas, step: Step): string {
  const kinds = schemas.stepKinds();
  return Object.keys(step).find((k) => kinds.has(k)) || "?";
}

export function steps(doc: Doc): Step[] {
  return Array.isArray(doc.steps) ? doc.steps : [];
}

export function findStep(doc: Doc, id: string): Step | undefined {
  return steps(doc).find((s) => s.id === id);
}

// Every way out of a step, with its target ("end" when it ends).
export function outs(schemas: Schemas, step: Step): Out[] {
  const kind = kindOf(schemas, step);
  const params = step[kind];
  const found: Out[] = schemas
    .branchFields(kind)
    .map((b) => ({ branch: b, target: step[b] || END }));
  if (kind === "switch") {
    (params?.branches || []).forEach((branch: any, i: number) =>
      found.push({ branch: branch?.name || `branch_${i + 1}`, target: branch?.goto || END }),
    );
    found.push({ branch: "default", target: params?.default || END });
  } else if (kind === "split") {
    (params?.paths || []).forEach((path: any, i: number) =>
      found.push({ branch: `path_${i + 1}`, target: path?.goto || END }),
    );
  } else if (kind === "go_to") {
    found.push({ branch: "go_to", target: params || END, jump: true });
  }
  if (found.length === 1) found[0].only = true;
  return found;
}

export function setOut(schemas: Schemas, step: Step, branch: string, target: string): void {
  const kind = kindOf(schemas, step);
  const params = step[kind];
  if (schemas.branchFields(kind).includes(branch)) {
    if (branch === "next" && target === END) delete step.next;
    else step[branch] = target;
  } else if (kind === "switch" && branch === "default") {
    params.default = target;
  } else if (kind === "switch") {
    (params.branches || []).forEach((b: any, i: number) => {
      if ((b?.name || `branch_${i + 1}`) === branch) b.goto = target;
    });
  } else if (kind === "split") {
    const path = params.paths?.[Number(branch.replace("path_", "")) - 1];
    if (path) path.goto = target;
  } else if (kind === "go_to") {
    step.go_to = target;
  }
}

function setAllOuts(schemas: Schemas, step: Step, target: string): void {
  for (const out of outs(schemas, step)) setOut(schemas, step, out.branch, target);
}

export function freshId(doc: Doc, kind: string): string {
  const taken = new Set(steps(doc).map((s) => s.id));
  if (!taken.has(kind)) return kind;
  let n = 2;
  while (taken.has(`${kind}_${n}`)) n += 1;
  return `${kind}_${n}`;
}

// Insert ``step`` on a way out of ``from`` ("entry": before the first step); what followed
// there follows the new step on each of its ways out.
export function insertAfter(
  schemas: Schemas,
  doc: Doc,
  from: string,
  branch: string | null,
  step: Step,
): void {
  const list = steps(doc);
  doc.steps = list;
  if (from === "entry") {
    setAllOuts(schemas, step, list[0]?.id || END);
    list.unshift(step);
    return;
  }
  const source = findStep(doc, from);
  if (!source) return;
  const way = outs(schemas, source).find((o) => o.branch === (branch || o.branch));
  setAllOuts(schemas, step, way?.target || END);
  if (way) setOut(schemas, source, way.branch, step.id);
  list.splice(list.indexOf(source) + 1, 0, step);
}

function pointTo(schemas: Schemas, doc: Doc, from: string, to: string): void {
  for (const step of steps(doc)) {
    for (const out of outs(schemas, step)) {
      if (out.target === from) setOut(schemas, step, out.branch, to);
    }
  }
  const list = steps(doc);
  if (list[0]?.id === from) {
    const next = list.find((s) => s.id === to);
    if (next) {
      list.splice(list.indexOf(next), 1);
      list.splice(1, 0, next);
    }
  }
}

function reachable(schemas: Schemas, doc: Doc): Set<string> {
  const seen = new Set<string>();
  const todo = steps(doc).length ? [steps(doc)[0].id] : [];
  while (todo.length) {
    const id = todo.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const step = findStep(doc, id);
    if (step) for (const out of outs(schemas, step)) if (out.target !== END) todo.push(out.target);
  }
  return seen;
}

// Delete a step: what came to it goes on to its way ``keep``; steps no longer reached from
// the first step are deleted too. Answers the ids deleted besides the step itself.
export function removeStep(schemas: Schemas, doc: Doc, id: string, keep: string | null): string[] {
  const step = findStep(doc, id);
  if (!step) return [];
  const ways = outs(schemas, step);
  const way = ways.find((o) => o.branch === keep) || ways[0];
  const target = way && way.target !== id ? way.target : END;
  if (steps(doc)[0]?.id === id && target === END) {
    const others = steps(doc).filter((s) => s.id !== id).map((s) => s.id);
    doc.steps = [];
    return others;
  }
  pointTo(schemas, doc, id, target);
  doc.steps = steps(doc).filter((s) => s.id !== id);
  const kept = reachable(schemas, doc);
  const dropped = steps(doc)
    .filter((s) => !kept.has(s.id))
    .map((s) => s.id);
  doc.steps = steps(doc).filter((s) => kept.has(s.id));
  return dropped;
}

// Move a step with one way out to another place: what came to it goes on to what followed it.
export function moveStep(
  schemas: Schemas,
  doc: Doc,
  id: string,
  from: string,
  branch: string | null,
): void {
  const step = findStep(doc, id);
  if (!step || from === id) return;
  pointTo(schemas, doc, id, outs(schemas, step)[0]?.target || END);
  doc.steps = steps(doc).filter((s) => s.id !== id);
  insertAfter(schemas, doc, from, branch, step);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function getPath(value: any, path: string[]): any {
  return path.reduce((v, p) => (v === null || v === undefined ? undefined : v[p]), value);
}
