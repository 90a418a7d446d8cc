// The marketer's workspace: the graph, the step being edited, the workflow's settings, the
// problems the validator finds as you go, and draft → diff → publish.
import { useCallback, useEffect, useMemo, useState } from "react";
import YAML from "yaml";
import { api, ApiError, loadCatalogue } from "./api";
import type { Catalogue, Problem } from "./api";
import { Doc, Step, canMoveTo, clone, findStep, freshId, insertAfter, kindOf, moveStep, outs, placeDown, placeUp, planMove, removeStep, setOut, steps } from "./doc";
import { Schemas, skeleton } from "./schema";
import { Graph, branchLabel } from "./Graph";
import { Palette } from "./Palette";
import { Settings } from "./Settings";
import { StepPanel } from "./StepPanel";
import { t } from "./i18n";
import { kindName, problemText } from "./schemaWords";

type Props = { schemas: Schemas; initial: Doc; editing: string | null; note: string };
export type MoveTo = "up" | "down" | "place";

export function slug(name: string): string {
  return name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
}

export function Builder({ schemas, initial, editing, note }: Props) {
  const [doc, setDoc] = useState<Doc>(initial);
  const [catalogue, setCatalogue] = useState<Catalogue>({ lists: [], attributes: [], users: [], workflows: [] });
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checking, setChecking] = useState(false);
  const [selected, select] = useState<string | null>(null);
  const [opened, setOpened] = useState(0); // a new form for every step opened, not per rename
  const setSelected = (id: string | null) => {
    select(id);
    setOpened((n) => n + 1);
  };
  const [adding, setAdding] = useState<{ from: string; branch: string | null } | null>(null);
  // Moving: onto a "+" picked in the graph (``place``), or up or down; a step with several
  // ways out asks first which way's steps stay in place (``asking``).
  const [moving, setMoving] = useState<{ id: string; keep: string | null } | null>(null);
  const [asking, setAsking] = useState<{ id: string; keep: string | null; to: MoveTo } | null>(null);
  const [deleting, setDeleting] = useState<{ id: string; keep: string | null } | null>(null);
  const [view, setView] = useState<"graph" | "yaml">("graph");
  const [status, setStatus] = useState(note);
  const [diff, setDiff] = useState<{ text: string; version: number | null } | null>(null);
  const [published, setPublished] = useState<any>(null);
  const [keyTouched, setKeyTouched] = useState(!!editing);

  useEffect(() => { loadCatalogue().then(setCatalogue); }, []);

  // Validation as you go: the same validator as apply, a moment after the last change.
  useEffect(() => {
    setChecking(true);
    const timer = setTimeout(async () => {
      try {
        await api("/api/v1/workflows/validate", "POST", doc);
        setProblems([]);
      } catch (e) {
        if (e instanceof ApiError) setProblems(e.problems.length ? e.problems : [{ message: e.message }]);
      } finally {
        setChecking(false);
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [doc]);

  const change = (next: Doc) => {
    if (!keyTouched && next.name !== doc.name) {
      const { name, key: _old, ...rest } = next;
      next = { name, key: slug(name || "") || undefined, ...rest };
    }
    if (next.key === undefined) delete next.key;
    setDoc(next);
    setPublished(null);
  };
  const edit = (work: (d: Doc) => void) => {
    const next = clone(doc);
    work(next);
    change(next);
  };

  const actions = useMemo(() => ({
    onAdd: (from: string, branch: string | null) => {
      if (moving) {
        const { id, keep } = moving;
        setMoving(null);
        move(id, keep, { from, branch });
      } else setAdding({ from, branch });
    },
    onSelect: (id: string) => setSelected(id),
    canAdd: (from: string, branch: string | null) => !moving || canMoveTo(schemas, doc, moving.id, moving.keep, from, branch),
  }), [doc, moving, schemas]);

  const move = (id: string, keep: string | null, place: { from: string; branch: string | null } | null) => {
    const next = clone(doc);
    if (!place || !moveStep(schemas, next, id, place.from, place.branch, keep)) {
      setStatus(t.moves.cannot);
      return;
    }
    change(next);
    setStatus(t.moves.done);
  };
  const place = (id: string, keep: string | null, to: MoveTo) =>
    to === "up" ? placeUp(schemas, doc, id) : to === "down" ? placeDown(schemas, doc, id, keep) : null;
  const startMove = (id: string, keep: string | null, to: MoveTo) => {
    setAsking(null);
    if (to === "place") {
      setMoving({ id, keep });
      setSelected(null);
      document.querySelector(".canvas")?.scrollIntoView({ block: "nearest" });
    } else move(id, keep, place(id, keep, to));
  };
  const askMove = (id: string, to: MoveTo) => {
    const found = findStep(doc, id);
    const ways = found ? outs(schemas, found).filter((o) => !o.jump) : [];
    if (ways.length > 1) setAsking({ id, keep: ways[0].branch, to });
    else startMove(id, null, to);
  };
  const movable = (id: string, keep: string | null, to: MoveTo) => {
    const at = place(id, keep, to);
    return to === "place" || (!!at && canMoveTo(schemas, doc, id, keep, at.from, at.branch));
  };

  const add = (kind: string) => {
    if (!adding) return;
    const id = freshId(doc, kind);
    const stepSchema = schemas.stepKinds().get(kind) || {};
    const step: Step = { id, [kind]: skeleton(schemas, stepSchema.properties[kind]) };
    for (const b of schemas.branchFields(kind)) if (b !== "next") step[b] = "end";
    if (kind === "go_to") step.go_to = "end";
    edit((d) => insertAfter(schemas, d, adding.from, adding.branch, step));
    setAdding(null);
    setSelected(id);
  };

  const rename = (from: string, to: string) => edit((d) => {
    if (findStep(d, to)) return;
    for (const s of steps(d)) for (const o of outs(schemas, s)) if (o.target === from) setOut(schemas, s, o.branch, to);
    const step = findStep(d, from);
    if (step) step.id = to;
    select(to);
  });

  const createList = useCallback(async (name: string) => {
    try {
      await api("/v3/contacts/lists", "POST", { name });
    } catch (e) {
      // A list of that name exists already: picking it is what the user wants.
      if (!(e instanceof ApiError) || !e.message.startsWith("duplicate_parameter")) throw e;
    }
    setCatalogue(await loadCatalogue());
  }, []);

  const key = doc.key || slug(doc.name || "");
  const saveDraft = async () => {
    await api(`/api/v1/drafts/${encodeURIComponent(key)}`, "PUT", { document: doc });
    setStatus(t.saved);
  };
  const guarded = (work: () => Promise<void>) => async () => {
    try { await work(); } catch (e) { setStatus((e as Error).message); }
  };
  const publish = guarded(async () => {
    await saveDraft();
    const found = await api<any>(`/api/v1/drafts/${encodeURIComponent(key)}/diff`);
    setDiff({ text: found.diff || "", version: found.version ?? null });
  });
  const confirmPublish = guarded(async () => {
    const found = await api<any>(`/api/v1/drafts/${encodeURIComponent(key)}/publish`, "POST");
    setDiff(null);
    setPublished(found);
    setStatus(found.unchanged ? t.unchanged : `${t.published} ${found.version}`);
  });

  const step = selected ? findStep(doc, selected) : undefined;
  return (
    <div className={`builder${moving ? " moving" : ""}`}>
      <header className="bar">
        <a href="#/workflows" data-action="back">{t.back}</a>
        <h1>{doc.name || t.newWorkflow}</h1>
        <span className="status" role="status" data-status>{moving ? t.moving : status}</span>
        {moving ? <button type="button" data-action="cancel-move" onClick={() => setMoving(null)}>{t.cancel}</button> : null}
        <span className="buttons">
          <button type="button" data-action={view === "graph" ? "show-yaml" : "show-graph"} onClick={() => setView(view === "graph" ? "yaml" : "graph")}>
            {view === "graph" ? t.yaml : t.graph}
          </button>
          <button type="button" data-action="save-draft" disabled={!key} onClick={guarded(saveDraft)}>{t.saveDraft}</button>
          <button type="button" className="primary" data-action="publish" disabled={!key || checking || problems.length > 0} onClick={publish}>{t.publish}</button>
          {published || editing ? <a href={`#/workflows/${encodeURIComponent(key)}`} data-action="open-workflow">{t.openPage}</a> : null}
        </span>
      </header>
      <div className="columns">
        <Settings doc={doc} schemas={schemas} catalogue={catalogue} problems={problems} onChange={change} onKeyTouched={() => setKeyTouched(true)} onCreateList={createList} />
        <main className="canvas">
          {view === "graph" ? (
            <Graph doc={doc} schemas={schemas} problems={problems} selected={selected} actions={actions} />
          ) : (
            <pre className="yaml" data-view="yaml">{YAML.stringify(doc)}</pre>
          )}
        </main>
        <aside className="side">
          {step ? (
            <StepPanel
              key={opened}
              doc={doc}
              step={step}
              schemas={schemas}
              catalogue={catalogue}
              problems={problems}
              onChange={(next) => edit((d) => { d.steps[steps(d).findIndex((s) => s.id === step.id)] = next; })}
              onRename={rename}
              onDone={() => setSelected(null)}
              onDelete={() => setDeleting({ id: step.id, keep: null })}
              onMove={(to) => askMove(step.id, to)}
              canMove={(to) => movable(step.id, null, to)}
              onCreateList={createList}
            />
          ) : null}
          <Problems problems={problems} checking={checking} onPick={setSelected} />
        </aside>
      </div>
      <datalist id="dl-attributes">
        {catalogue.attributes.map((a) => <option key={a.name} value={a.name} />)}
      </datalist>
      <datalist id="dl-users">
        {catalogue.users.map((u) => <option key={u.email} value={u.email}>{u.name}</option>)}
      </datalist>
      {adding ? <Palette schemas={schemas} onPick={add} onCancel={() => setAdding(null)} /> : null}
      {asking ? (
        <MoveDialog doc={doc} schemas={schemas} {...asking} possible={movable(asking.id, asking.keep, asking.to)}
          onKeep={(keep) => setAsking({ ...asking, keep })}
          onCancel={() => setAsking(null)}
          onConfirm={() => startMove(asking.id, asking.keep, asking.to)} />
      ) : null}
      {deleting ? (
        <DeleteDialog doc={doc} schemas={schemas} id={deleting.id} keep={deleting.keep}
          onKeep={(keep) => setDeleting({ ...deleting, keep })}
          onCancel={() => setDeleting(null)}
          onConfirm={() => { edit((d) => removeStep(schemas, d, deleting.id, deleting.keep)); setDeleting(null); setSelected(null); }} />
      ) : null}
      {diff ? (
        <div className="overlay" role="dialog" aria-label={t.diffTitle}>
          <section className="dialog">
            <h2>{t.diffTitle}</h2>
            <pre className="diff" data-diff>{diff.version === null ? t.newWorkflowDiff : diff.text || t.unchanged}</pre>
            {diff.version === null ? <pre className="diff">{YAML.stringify(doc)}</pre> : null}
            <footer>
              <button type="button" onClick={() => setDiff(null)}>{t.cancel}</button>
              <button type="button" className="primary" data-action="confirm-publish" onClick={confirmPublish}>{t.confirmPublish}</button>
            </footer>
          </section>
        </div>
      ) : null}
    </div>
  );
}

function Problems({ problems, checking, onPick }: { problems: Problem[]; checking: boolean; onPick: (id: string) => void }) {
  return (
    <section className="panel problems" aria-live="polite">
      <h2>{t.problems}</h2>
      {checking ? <p className="help">{t.checking}</p> : null}
      {!checking && !problems.length ? <p className="ok" data-no-problems>{t.noProblems}</p> : null}
      <ul>
        {problems.map((p, i) => (
          <li key={i} data-problem-step={p.step ?? ""} data-problem-field={p.field ?? ""} data-problem-code={p.code ?? ""}>
            {p.step ? <button type="button" className="link" onClick={() => onPick(p.step as string)}>{p.step}</button> : null}
            {p.field ? <code>{p.field}</code> : null} {problemText(p)}
          </li>
        ))}
      </ul>
    </section>
  );
}

type DeleteProps = {
  doc: Doc; schemas: Schemas; id: string; keep: string | null;
  onKeep: (keep: string) => void; onCancel: () => void; onConfirm: () => void;
};

// Deleting says what happens to the steps below before it happens.
function DeleteDialog({ doc, schemas, id, keep, onKeep, onCancel, onConfirm }: DeleteProps) {
  const step = findStep(doc, id);
  const ways = step ? outs(schemas, step).filter((o) => !o.jump) : [];
  const chosen = keep || ways[0]?.branch || null;
  const dropped = removeStep(schemas, clone(doc), id, chosen);
  return (
    <div className="overlay" role="dialog" aria-label={t.deleteTitle}>
      <section className="dialog">
        <h2>{t.deleteTitle} {id} ({step ? kindName(kindOf(schemas, step)) : ""})</h2>
        {ways.length > 1 ? (
          <p>
            {t.deleteKeep}{" "}
            {ways.map((w) => (
              <label key={w.branch} className="inline">
                <input type="radio" name="keep" data-keep-branch={w.branch} checked={chosen === w.branch} onChange={() => onKeep(w.branch)} />
                {branchLabel(w, step ? kindOf(schemas, step) : "")}
              </label>
            ))}
          </p>
        ) : (
          <p>{t.deleteMoves}</p>
        )}
        <p data-deleted-too={dropped.join(",")}>{dropped.length ? `${t.deleteAlso} ${dropped.join(", ")}` : t.deleteNothing}</p>
        <footer>
          <button type="button" onClick={onCancel}>{t.cancel}</button>
          <button type="button" className="danger" data-action="confirm-delete" onClick={onConfirm}>{t.confirmDelete}</button>
        </footer>
      </section>
    </div>
  );
}

type MoveProps = {
  doc: Doc; schemas: Schemas; id: string; keep: string | null; to: MoveTo; possible: boolean;
  onKeep: (keep: string) => void; onCancel: () => void; onConfirm: () => void;
};

// Moving a step with several ways out says, before it happens, which steps stay in place
// and which move with it (as deleting says which steps go).
function MoveDialog({ doc, schemas, id, keep, to, possible, onKeep, onCancel, onConfirm }: MoveProps) {
  const step = findStep(doc, id);
  const ways = step ? outs(schemas, step).filter((o) => !o.jump) : [];
  const plan = planMove(schemas, doc, id, keep);
  const title = to === "up" ? t.moves.up_title : to === "down" ? t.moves.down_title : t.moves.place_title;
  return (
    <div className="overlay" role="dialog" aria-label={title}>
      <section className="dialog">
        <h2>{title}: {id} ({step ? kindName(kindOf(schemas, step)) : ""})</h2>
        <p>
          {t.moves.keep}{" "}
          {ways.map((w) => (
            <label key={w.branch} className="inline">
              <input type="radio" name="move-keep" data-keep-branch={w.branch} checked={keep === w.branch} onChange={() => onKeep(w.branch)} />
              {branchLabel(w, step ? kindOf(schemas, step) : "")}
            </label>
          ))}
        </p>
        <p data-moves-stay={plan.stay.join(",")}>{plan.stay.length ? `${t.moves.stay} ${plan.stay.join(", ")}` : ""}</p>
        <p data-moves-carried={plan.carried.join(",")}>{plan.carried.length ? `${t.moves.carried} ${plan.carried.join(", ")}` : t.moves.nothingCarried}</p>
        {possible ? null : <p className="field-problem">{t.moves.cannot}</p>}
        <footer>
          <button type="button" onClick={onCancel}>{t.cancel}</button>
          <button type="button" className="primary" data-action="confirm-move" disabled={!possible} onClick={onConfirm}>{t.moves.confirm}</button>
        </footer>
      </section>
    </div>
  );
}
