// A step's form: its id and label, its parameters from the schema, its ways out picked from
// the steps there are; for an email, the personalisation variables and a live preview the
// server renders for a chosen contact.
import { useEffect, useRef, useState } from "react";
import { api } from "./api";
import type { Catalogue, Problem } from "./api";
import { Doc, Step, kindOf } from "./doc";
import { Schemas } from "./schema";
import { Field, Form } from "./SchemaForm";
import type { MoveTo } from "./Builder";
import { t } from "./i18n";
import { kindName } from "./schemaWords";

const STEP_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

type Props = {
  doc: Doc;
  step: Step;
  schemas: Schemas;
  catalogue: Catalogue;
  problems: Problem[];
  onChange: (step: Step) => void;
  onRename: (from: string, to: string) => void;
  onDone: () => void;
  onDelete: () => void;
  onMove: (to: MoveTo) => void;
  canMove: (to: MoveTo) => boolean;
  onCreateList: (name: string) => Promise<void>;
};

function setIn(value: any, path: string[], next: any): any {
  if (!path.length) return next;
  const [head, ...rest] = path;
  const copy = Array.isArray(value) ? [...value] : { ...(value || {}) };
  copy[head] = setIn(copy[head], rest, next);
  return copy;
}

function getIn(value: any, path: string[]): any {
  return path.reduce((v, p) => (v == null ? undefined : v[p]), value);
}

export function StepPanel(props: Props) {
  const { step, schemas, doc } = props;
  const kind = kindOf(schemas, step);
  const stepSchema = schemas.stepKinds().get(kind) || {};
  const focus = useRef<{ path: string[]; at: number } | null>(null);
  const stepIds = (doc.steps || []).map((s: Step) => s.id).filter((id: string) => id !== step.id);
  const [id, setId] = useState(step.id);
  const idProblem = id === step.id ? "" : !STEP_ID.test(id) ? t.badId : t.takenId;
  const renameTo = (next: string) => {
    setId(next);
    // Renamed as typed whenever the id is valid and free, so the form stays in place.
    if (STEP_ID.test(next) && next !== "end" && !stepIds.includes(next)) props.onRename(step.id, next);
  };
  const context = {
    schemas,
    catalogue: props.catalogue,
    stepIds,
    problems: props.problems.filter((p) => p.step === step.id),
    prefix: "",
    onCreateList: props.onCreateList,
    onFocusText: (path: string[], element: HTMLInputElement | HTMLTextAreaElement) => {
      focus.current = { path, at: element.selectionStart ?? element.value.length };
    },
  };
  const insert = (variable: string) => {
    const where = focus.current || { path: [kind, "subject"], at: String(getIn(step, [kind, "subject"]) ?? "").length };
    const old = String(getIn(step, where.path) ?? "");
    props.onChange(setIn(step, where.path, old.slice(0, where.at) + variable + old.slice(where.at)));
    focus.current = { path: where.path, at: where.at + variable.length };
  };
  const ways = schemas.branchFields(kind);
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    // On a phone the form sits below the graph: bring it into view when a step opens.
    if (window.matchMedia("(max-width: 700px)").matches) panel.current?.scrollIntoView({ block: "start" });
  }, []);
  return (
    <Form.Provider value={context}>
      <section className="panel step-panel" data-editing={step.id} ref={panel}>
        <header>
          <h2>{kindName(kind, schemas.kindParams(kind).title)}</h2>
          <button type="button" data-action="done" onClick={props.onDone}>{t.done}</button>
        </header>
        <div className="field">
          <span className="label">{t.stepId}</span>
          <input name="id" value={id} onChange={(e) => renameTo(e.target.value)} />
          {idProblem ? <p className="field-problem">{idProblem}</p> : null}
        </div>
        <div className="field">
          <span className="label">{t.stepName}</span>
          <input name="name" value={step.name ?? ""} onChange={(e) => props.onChange(setIn(step, ["name"], e.target.value || undefined))} />
        </div>
        <Field bare schema={stepSchema.properties?.[kind] || {}} value={step[kind]} path={[kind]} onChange={(v) => props.onChange(setIn(step, [kind], v))} />
        {kind === "send_email" ? <EmailExtras doc={doc} step={step} catalogue={props.catalogue} onInsert={insert} /> : null}
        {ways.length ? (
          <fieldset className="ways">
            <legend>{t.ways}</legend>
            {ways.map((w) => (
              <Field key={w} schema={{ type: "string", title: t.branches[w] || w }} value={step[w] ?? (w === "next" ? "end" : "")} path={[w]}
                onChange={(v) => props.onChange(setIn(step, [w], w === "next" && v === "end" ? undefined : v))} />
            ))}
          </fieldset>
        ) : null}
        <footer className="step-actions">
          <button type="button" data-action="move-up" disabled={!props.canMove("up")} onClick={() => props.onMove("up")}>{t.moves.up}</button>
          <button type="button" data-action="move-down" disabled={!props.canMove("down")} onClick={() => props.onMove("down")}>{t.moves.down}</button>
          <button type="button" data-action="move-step" onClick={() => props.onMove("place")}>{t.move}</button>
          <button type="button" className="danger" data-action="delete-step" onClick={props.onDelete}>{t.delete}</button>
        </footer>
      </section>
    </Form.Provider>
  );
}

type EmailProps = { doc: Doc; step: Step; catalogue: Catalogue; onInsert: (v: string) => void };

function EmailExtras({ doc, step, catalogue, onInsert }: EmailProps) {
  const [contact, setContact] = useState("");
  const [rendered, setRendered] = useState<{ subject: string; html: string; text: string } | null>(null);
  const [error, setError] = useState("");
  const params = step.send_email || {};
  const render = async () => {
    if (!contact.trim()) return;
    try {
      const found = await api<any>("/api/v1/preview/email", "POST", {
        subject: params.subject || "",
        preview_text: params.preview_text ?? null,
        html: params.html ?? null,
        text: params.text ?? null,
        template: params.template ?? null,
        templates: doc.templates || {},
        workflow: doc.key || "",
        step: step.id,
        contact: contact.trim(),
      });
      setRendered(found);
      setError("");
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    const timer = setTimeout(render, 600);
    return () => clearTimeout(timer);
  }, [params.subject, params.html, params.text, params.preview_text, params.template, contact]);
  const names = ["email", ...catalogue.attributes.map((a) => a.name)];
  return (
    <div className="email-extras">
      <div className="variables">
        <span className="label">{t.variables}</span>
        {names.map((n) => (
          <button type="button" key={n} className="chip" data-variable={n} onClick={() => onInsert(`{{ contact.${n} }}`)}>{n}</button>
        ))}
      </div>
      <div className="preview">
        <span className="label">{t.preview}</span>
        <span className="inline">
          <input name="preview.contact" placeholder={t.previewContact} value={contact} onChange={(e) => setContact(e.target.value)} />
          <button type="button" data-action="preview" onClick={render}>{t.previewRefresh}</button>
        </span>
        {error ? <p className="field-problem">{error}</p> : null}
        {rendered ? (
          <div className="rendered">
            <p className="subject" data-preview="subject">{rendered.subject}</p>
            {rendered.html ? (
              <iframe title={t.preview} sandbox="" srcDoc={rendered.html} data-preview="html" />
            ) : null}
            {rendered.text ? <pre data-preview="text">{rendered.text}</pre> : null}
          </div>
        ) : (
          <p className="help">{t.previewEmpty}</p>
        )}
      </div>
    </div>
  );
}
