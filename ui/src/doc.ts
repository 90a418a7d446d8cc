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
// there follows the new step on each of its ways out (on its way ``only`` alone, if given;
// on none for null).
export function insertAfter(
  schemas: Schemas,
  doc: Doc,
  from: string,
  branch: string | null,
  step: Step,
  only?: string | null,
): void {
  const list = steps(doc);
  doc.steps = list;
  const follow = (target: string) => {
    if (only) setOut(schemas, step, only, target);
    else if (only === undefined) setAllOuts(schemas, step, target);
  };
  if (from === "entry") {
    follow(list[0]?.id || END);
    list.unshift(step);
    return;
  }
  const source = findStep(doc, from);
  if (!source) return;
  const way = outs(schemas, source).find((o) => o.branch === (branch || o.branch));
  follow(way?.target || END);
  if (way) setOut(schemas, source, way.branch, step.id);
  list.splice(list.indexOf(source) + 1, 0, step);
}

// What came to ``from`` goes on to ``to``; a go_to names its step wherever it is, so
// ``jumps`` false leaves go_to steps pointing where they point.
function pointTo(schemas: Schemas, doc: Doc, from: string, to: string, jumps = true): void {
  for (const step of steps(doc)) {
    for (const out of outs(schemas, step)) {
      if (out.target === from && (jumps || !out.jump)) setOut(schemas, step, out.branch, to);
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

function reachable(schemas: Schemas, doc: Doc, from?: string[], barrier?: string): Set<string> {
  const seen = new Set<string>();
  const todo = from ? [...from] : steps(doc).length ? [steps(doc)[0].id] : [];
  while (todo.length) {
    const id = todo.pop() as string;
    if (seen.has(id) || id === END || id === barrier) continue;
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

// Moving a step: its way ``keep`` (the first by default) stays in place, so what came to the
// step goes on to the steps after that way, as when deleting it; its other ways keep their
// steps, which move with it. A go_to moves alone and only onto an end (it has no way on).
export type Move = {
  way: Out | undefined; // the way whose steps stay in place
  stay: string[]; // the steps after that way (they move up into the step's place)
  carried: string[]; // the steps only its other ways reach: they move with it
  blocked: Set<string>; // steps after which it cannot go (it would lead to itself)
};

export function keptWay(schemas: Schemas, step: Step, keep: string | null): Out | undefined {
  const ways = outs(schemas, step);
  return ways.find((o) => o.branch === keep) || ways.find((o) => !o.jump) || ways[0];
}

export function planMove(schemas: Schemas, doc: Doc, id: string, keep: string | null): Move {
  const step = findStep(doc, id);
  const way = step ? keptWay(schemas, step, keep) : undefined;
  const others = step ? outs(schemas, step).filter((o) => o.branch !== way?.branch && !o.jump).map((o) => o.target) : [];
  const own = reachable(schemas, doc, others, id);
  const first = steps(doc)[0]?.id;
  const main = reachable(schemas, doc, first === id ? (way && !way.jump ? [way.target] : []) : undefined, id);
  const stay = way && !way.jump ? [...reachable(schemas, doc, [way.target], id)].filter((s) => !own.has(s) || main.has(s)) : [];
  return { way, stay, carried: [...own].filter((s) => !main.has(s)), blocked: new Set([id, ...own]) };
}

export function canMoveTo(schemas: Schemas, doc: Doc, id: string, keep: string | null, from: string, branch: string | null): boolean {
  const step = findStep(doc, id);
  if (!step) return false;
  const plan = planMove(schemas, doc, id, keep);
  if (plan.blocked.has(from)) return false;
  if (steps(doc)[0]?.id === id && (!plan.way || plan.way.target === END || plan.way.jump)) return false;
  if (kindOf(schemas, step) === "go_to") return placeTarget(schemas, doc, from, branch) === END;
  return true;
}

function placeTarget(schemas: Schemas, doc: Doc, from: string, branch: string | null): string {
  if (from === "entry") return steps(doc)[0]?.id || END;
  const source = findStep(doc, from);
  const way = source ? outs(schemas, source).find((o) => o.branch === (branch || o.branch)) : undefined;
  return way?.target || END;
}

// Move a step to the "+" on ``from``'s way ``branch``; false (and nothing changed) when it
// cannot go there.
export function moveStep(
  schemas: Schemas,
  doc: Doc,
  id: string,
  from: string,
  branch: string | null,
  keep: string | null = null,
): boolean {
  const step = findStep(doc, id);
  if (!step || !canMoveTo(schemas, doc, id, keep, from, branch)) return false;
  const way = keptWay(schemas, step, keep);
  const jump = kindOf(schemas, step) === "go_to";
  pointTo(schemas, doc, id, way?.target || END, false);
  doc.steps = steps(doc).filter((s) => s.id !== id);
  insertAfter(schemas, doc, from, branch, step, jump ? null : way?.branch);
  return true;
}

// The "+" that leads into a step: "entry" for the first, else its one way in (null when
// several ways lead there, or only go_to jumps).
export function placeBefore(schemas: Schemas, doc: Doc, id: string): { from: string; branch: string | null } | null {
  if (steps(doc)[0]?.id === id) return { from: "entry", branch: null };
  const ins = steps(doc).flatMap((s) => outs(schemas, s).filter((o) => o.target === id && !o.jump).map((o) => ({ from: s.id, out: o })));
  if (ins.length !== 1) return null;
  return { from: ins[0].from, branch: ins[0].out.only ? null : ins[0].out.branch };
}

// Up: before the step before it. Down: after the step its kept way leads to (on that step's
// first way out). null when there is no such place.
export function placeUp(schemas: Schemas, doc: Doc, id: string): { from: string; branch: string | null } | null {
  const before = placeBefore(schemas, doc, id);
  if (!before || before.from === "entry") return null;
  return placeBefore(schemas, doc, before.from);
}

export function placeDown(schemas: Schemas, doc: Doc, id: string, keep: string | null): { from: string; branch: string | null } | null {
  const step = findStep(doc, id);
  const way = step ? keptWay(schemas, step, keep) : undefined;
  const next = way && !way.jump && way.target !== END ? findStep(doc, way.target) : undefined;
  const on = next ? outs(schemas, next).find((o) => !o.jump) : undefined;
  if (!next || !on) return null;
  return { from: next.id, branch: on.only ? null : on.branch };
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function getPath(value: any, path: string[]): any {
  return path.reduce((v, p) => (v === null || v === undefined ? undefined : v[p]), value);
}
