// The workflow's own fields (name, key, re-entry, ...) and its entry points, every kind of the
// catalogue with its filters; inputs named after their path (``entry_points.0.event``).
import type { Catalogue, Problem } from "./api";
import { Doc } from "./doc";
import { Schemas, skeleton } from "./schema";
import { Field, Form, variantLabel } from "./SchemaForm";
import { t } from "./i18n";

type Props = {
  doc: Doc;
  schemas: Schemas;
  catalogue: Catalogue;
  problems: Problem[];
  onChange: (doc: Doc) => void;
  onKeyTouched: () => void;
  onCreateList: (name: string) => Promise<void>;
};

const MAIN = ["name", "key", "reentry", "allow_parallel_runs"];
const MORE = ["description", "exit_when", "restart_when", "goals", "quiet_hours"];

export function Settings({ doc, schemas, catalogue, problems, onChange, onKeyTouched, onCreateList }: Props) {
  const root = schemas.root.properties;
  const set = (name: string, value: any) => {
    const copy = { ...doc };
    if (value === undefined) delete copy[name];
    else copy[name] = value;
    onChange(copy);
  };
  const field = (name: string) => (
    <Field key={name} schema={root[name]} value={doc[name]} path={[name]} owner="WorkflowDocument" optional={name !== "name"}
      onChange={(v) => { if (name === "key") onKeyTouched(); set(name, v); }} />
  );
  const context = {
    schemas, catalogue, stepIds: (doc.steps || []).map((s: any) => s.id), prefix: "",
    problems: problems.filter((p) => !p.step), onCreateList, onFocusText: () => undefined,
  };
  return (
    <Form.Provider value={context}>
      <section className="panel settings">
        <h2>{t.settings}</h2>
        {MAIN.map(field)}
        <Entries doc={doc} schemas={schemas} onChange={(entries) => set("entry_points", entries)} />
        <details>
          <summary>{t.more}</summary>
          {MORE.map(field)}
        </details>
      </section>
    </Form.Provider>
  );
}

function Entries({ doc, schemas, onChange }: { doc: Doc; schemas: Schemas; onChange: (entries: any[]) => void }) {
  const kinds = schemas.entryKinds();
  const entries: any[] = Array.isArray(doc.entry_points) ? doc.entry_points : [];
  const kindOf = (entry: any) => kinds.find((k) => entry && typeof entry === "object" && k.name in entry);
  const replace = (i: number, value: any) => onChange(entries.map((e, j) => (j === i ? value : e)));
  return (
    <fieldset className="entries">
      <legend>{t.entryPoints}</legend>
      {entries.map((entry, i) => {
        const kind = kindOf(entry);
        return (
          <div className="entry" key={i} data-entry={i}>
            <label className="field">
              <span className="label">{t.entryKind}</span>
              <select data-entry-kind={i} value={kind?.name ?? ""} onChange={(e) => {
                const chosen = kinds.find((k) => k.name === e.target.value);
                if (chosen) replace(i, skeleton(schemas, chosen.schema));
              }}>
                {kind ? null : <option value="">{t.none}</option>}
                {kinds.map((k) => <option key={k.name} value={k.name}>{variantLabel(schemas, k, false)}</option>)}
              </select>
            </label>
            {kind ? (
              <Field schema={{ ...kind.schema, title: " " }} value={entry} path={["entry_points", String(i)]} onChange={(v) => replace(i, v)} />
            ) : null}
            {entries.length > 1 ? (
              <button type="button" className="link" onClick={() => onChange(entries.filter((_, j) => j !== i))}>{t.removeEntry}</button>
            ) : null}
          </div>
        );
      })}
      <button type="button" data-action="add-entry" onClick={() => onChange([...entries, { event: "" }])}>{t.addEntry}</button>
    </fieldset>
  );
}
