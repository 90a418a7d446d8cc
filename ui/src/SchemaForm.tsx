// A form generated from the workflow JSON Schema. Every input is named after its path in the
// document below the step (``send_email.subject``, ``if.event_count.equals``), so tests and
// scripts find fields the way the document names them. Lists, attributes, users, workflows
// and steps are picked from what exists.
import { createContext, useContext, useState } from "react";
import type { Catalogue, Problem } from "./api";
import { Schema, Schemas, nonNull, skeleton } from "./schema";
import { t } from "./i18n";
import { choiceLabel, defHelp, fieldHelp, fieldTitle, problemText } from "./schemaWords";

export type FormContext = {
  schemas: Schemas;
  catalogue: Catalogue;
  stepIds: string[];
  problems: Problem[];
  prefix: string; // the field path of the form's root, for problems ("" or "entry_points.0")
  onCreateList: (name: string) => Promise<void>;
  onFocusText: (path: string[], element: HTMLInputElement | HTMLTextAreaElement) => void;
};

export const Form = createContext<FormContext | null>(null);

const OPERATORS = ["equals", "not_equals", "contains", "starts_with", "gt", "gte", "lt", "lte",
  "between", "in", "is_set", "before", "after", "within_last_days", "anniversary_in_days"];
const LONG_TEXT = ["html", "text", "body"];
const PROMINENT = ["html", "text", "preview_text", "from", "where", "contacts"];
const LIST_KEYS = ["lists", "in_list", "in_any_list", "in_no_list", "list"];
const TARGET_KEYS = ["go_to", "goto", "default", "next", "then", "else", "success", "failure"];

function useForm(): FormContext {
  return useContext(Form) as FormContext;
}

// A field's label: the language's catalogue for the property of its object (``owner``), the
// workspace catalogue's path overrides, then the schema's own title.
function labelOf(path: string[], schema: Schema, owner?: string): string {
  const last = path[path.length - 1] || "";
  if (/^\d+$/.test(last)) return `#${Number(last) + 1}`;
  if (owner) return fieldTitle(owner, last, schema.title);
  const key = path.join(".");
  const found = Object.entries(t.fields).find(([suffix]) => key === suffix || key.endsWith(`.${suffix}`));
  return found ? found[1] : fieldTitle(undefined, last, schema.title);
}

export function parseScalar(text: string): any {
  if (/^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

function FieldProblems({ path }: { path: string[] }) {
  const { problems, prefix } = useForm();
  const name = [prefix, ...path].filter(Boolean).join(".");
  const mine = problems.filter((p) => p.field === name);
  return (
    <>
      {mine.map((p, i) => (
        <p key={i} className="field-problem" role="alert" data-problem-code={p.code ?? ""}>{problemText(p)}</p>
      ))}
    </>
  );
}

type FieldProps = {
  schema: Schema;
  value: any;
  path: string[];
  onChange: (value: any) => void;
  optional?: boolean;
  bare?: boolean; // no label: the caller names the value already
  owner?: string; // the $defs name of the object this field is a property of
};

export function Field(props: FieldProps) {
  const { schemas } = useForm();
  const s = schemas.resolve(props.schema);
  const label = labelOf(props.path, props.schema, props.owner);
  const last = props.path[props.path.length - 1] || "";
  const help = fieldHelp(props.owner, last, props.schema.description) || defHelp(schemas.nameOf(s), s.description);
  return (
    <div className="field" data-field={props.path.join(".")}>
      {props.bare ? null : <span className="label" title={help || undefined}>{label}</span>}
      <Input {...props} schema={s} />
      {help && isSimple(schemas, s) ? <small className="help">{help}</small> : null}
      <FieldProblems path={props.path} />
    </div>
  );
}

function isSimple(schemas: Schemas, s: Schema): boolean {
  const r = schemas.resolve(s);
  return !r.properties && !r.oneOf && r.type !== "array";
}

function Input(props: FieldProps) {
  const { schemas } = useForm();
  const { schema: s, path } = props;
  const last = path[path.length - 1];
  if (s.anyOf) {
    const members = nonNull(s);
    if (members.length === 1) return <Input {...props} schema={schemas.resolve(members[0])} optional />;
    if (members.every((m) => ["string", "number", "integer", "boolean"].includes(schemas.resolve(m).type) && !schemas.resolve(m).items))
      return <ScalarText {...props} />;
    if (typeof props.value === "string" || props.value === undefined || props.value === null) {
      const text = members.find((m) => schemas.resolve(m).type === "string");
      if (text && typeof props.value === "string") return <Input {...props} schema={schemas.resolve(text)} />;
    }
    return <JsonText {...props} />;
  }
  if (s.oneOf) return <Variants {...props} />;
  if (s.enum) return <Choice {...props} options={s.enum} labels />;
  if (TARGET_KEYS.includes(last) && s.type === "string") return <TargetPicker {...props} />;
  if (last === "workflow" && s.type === "string") return <WorkflowPicker {...props} />;
  if (s.type === "string" && (LIST_KEYS.includes(last))) return <ListPicker {...props} single />;
  if (s.type === "string") return <Text {...props} />;
  if (s.type === "integer" || s.type === "number") return <NumberInput {...props} />;
  if (s.type === "boolean") return <Check {...props} />;
  if (s.type === "array") return <ArrayInput {...props} />;
  if (s.properties) return <ObjectInput {...props} />;
  if (s.type === "object" && s.additionalProperties) return <MapInput {...props} />;
  return <JsonText {...props} />;
}

function datalistFor(path: string[]): string | undefined {
  const key = path.join(".");
  const last = path[path.length - 1];
  if (last === "attribute" || last === "to_attribute" || (last === "name" && /(update_attribute|attribute|attribute_changed)\.name$/.test(key))) return "dl-attributes";
  if (last === "user" || path.includes("round_robin")) return "dl-users";
  return undefined;
}

function Text({ value, path, onChange, optional }: FieldProps) {
  const { onFocusText } = useForm();
  const name = path.join(".");
  const focus = (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => onFocusText(path, e.currentTarget);
  const change = (e: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => {
    const text = e.currentTarget.value;
    onChange(text === "" && optional ? undefined : text);
    focus(e);
  };
  const last = path[path.length - 1];
  if (LONG_TEXT.includes(last))
    return <textarea name={name} rows={last === "html" ? 6 : 3} value={value ?? ""} onChange={change} onFocus={focus} onSelect={focus} />;
  return <input name={name} value={value ?? ""} list={datalistFor(path)} onChange={change} onFocus={focus} onSelect={focus} />;
}

function ScalarText({ value, path, onChange }: FieldProps) {
  const shown = value === null || value === undefined ? "" : String(value);
  return <input name={path.join(".")} value={shown} list={datalistFor(path)} onChange={(e) => onChange(e.target.value === "" ? undefined : parseScalar(e.target.value))} />;
}

function NumberInput({ value, path, onChange, schema }: FieldProps) {
  return (
    <input
      name={path.join(".")}
      type="number"
      step={schema.type === "integer" ? 1 : "any"}
      value={value ?? ""}
      onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
    />
  );
}

function Check({ value, path, onChange, schema }: FieldProps) {
  return <input type="checkbox" name={path.join(".")} checked={value ?? schema.default ?? false} onChange={(e) => onChange(e.target.checked)} />;
}

function Choice({ value, path, onChange, options, optional, schema, labels }: FieldProps & { options: any[]; labels?: boolean }) {
  const fallback = schema.default !== undefined && schema.default !== null ? `${t.byDefault} ${labels ? choiceLabel(schema.default) : schema.default}` : t.none;
  return (
    <select name={path.join(".")} value={value ?? ""} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}>
      {optional || value === undefined ? <option value="">{fallback}</option> : null}
      {options.map((o) => <option key={String(o)} value={String(o)}>{labels ? choiceLabel(o) : String(o)}</option>)}
    </select>
  );
}

function TargetPicker(props: FieldProps) {
  const { stepIds } = useForm();
  const options = [...stepIds, "end"];
  if (props.value && !options.includes(props.value)) options.push(props.value);
  return <Choice {...props} options={options} />;
}

function WorkflowPicker(props: FieldProps) {
  const { catalogue } = useForm();
  const options = catalogue.workflows.map((w) => w.key);
  if (props.value && !options.includes(props.value)) options.push(props.value);
  return <Choice {...props} options={options} optional />;
}

// Lists picked from those that exist, with "create list" inline.
function ListPicker({ value, path, onChange, single }: FieldProps & { single?: boolean }) {
  const { catalogue, onCreateList } = useForm();
  const [name, setName] = useState("");
  const [error, setError] = useState("");
  const chosen: string[] = Array.isArray(value) ? value : value ? [String(value)] : [];
  const options = [...catalogue.lists, ...chosen.filter((c) => !catalogue.lists.includes(c))];
  const pick = (names: string[]) => onChange(single ? names[0] ?? "" : names);
  const create = async () => {
    const fresh = name.trim();
    if (!fresh) return;
    try {
      await onCreateList(fresh);
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    setName("");
    setError("");
    pick(single ? [fresh] : [...chosen, fresh]);
  };
  return (
    <div className="list-picker">
      {single ? (
        <select name={path.join(".")} value={chosen[0] ?? ""} onChange={(e) => pick([e.target.value])}>
          <option value="">{t.none}</option>
          {options.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      ) : (
        <select multiple name={path.join(".")} value={chosen} size={Math.min(6, Math.max(3, options.length))} onChange={(e) => pick(Array.from(e.target.selectedOptions, (o) => o.value))}>
          {options.map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      )}
      <span className="inline">
        <input data-new-list={path.join(".")} placeholder={t.newListName} value={name} onChange={(e) => setName(e.target.value)} />
        <button type="button" data-action="create-list" onClick={create}>{t.createList}</button>
      </span>
      {error ? <p className="field-problem">{error}</p> : null}
    </div>
  );
}

function ArrayInput(props: FieldProps) {
  const { schemas } = useForm();
  const { value, path, onChange, schema } = props;
  const items = schemas.resolve(schema.items);
  const last = path[path.length - 1];
  if (items.type === "string" && LIST_KEYS.includes(last)) return <ListPicker {...props} />;
  if (items.enum) {
    const chosen: string[] = Array.isArray(value) ? value : schema.default || [];
    return (
      <span className="checks">
        {items.enum.map((o: string) => (
          <label key={o}>
            <input type="checkbox" name={path.join(".")} value={o} checked={chosen.includes(o)} onChange={(e) => onChange(e.target.checked ? [...chosen, o] : chosen.filter((c) => c !== o))} />
            {choiceLabel(o)}
          </label>
        ))}
      </span>
    );
  }
  if (["string", "number", "integer"].includes(items.type) || (items.anyOf && !items.properties)) {
    const list: any[] = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    return (
      <textarea
        name={path.join(".")}
        rows={Math.max(2, list.length + 1)}
        value={list.join("\n")}
        placeholder={t.oneALine}
        onChange={(e) => {
          const lines = e.target.value.split("\n");
          onChange(lines.filter((l, i) => l !== "" || i < lines.length - 1).map((l) => (items.type === "string" ? l : parseScalar(l))));
        }}
      />
    );
  }
  const list: any[] = Array.isArray(value) ? value : [];
  return (
    <div className="array">
      {list.map((item, i) => (
        <div className="array-item" key={i}>
          <Field schema={items} value={item} path={[...path, String(i)]} onChange={(v) => onChange(list.map((x, j) => (j === i ? v : x)))} />
          <button type="button" className="link" onClick={() => onChange(list.filter((_, j) => j !== i))}>{t.removeItem}</button>
        </div>
      ))}
      <button type="button" data-add-item={path.join(".")} onClick={() => onChange([...list, skeleton(schemas, items)])}>{t.addItem}</button>
    </div>
  );
}

function without(value: Record<string, any>, key: string, next: any): Record<string, any> {
  const copy = { ...value };
  if (next === undefined) delete copy[key];
  else copy[key] = next;
  return copy;
}

function ObjectInput(props: FieldProps) {
  const { schemas } = useForm();
  const { schema, path, onChange } = props;
  const value: Record<string, any> = props.value && typeof props.value === "object" ? props.value : {};
  const names = Object.keys(schema.properties);
  if (names.filter((n) => OPERATORS.includes(n)).length >= 5) return <Comparison {...props} value={value} />;
  const required: string[] = schema.required || [];
  const many = names.length > 8;
  const shown = names.filter((n) => !many || required.includes(n) || PROMINENT.includes(n) || value[n] !== undefined);
  const rest = names.filter((n) => !shown.includes(n));
  const owner = schemas.nameOf(schema);
  const field = (n: string) => (
    <Field key={n} schema={schema.properties[n]} value={value[n]} path={[...path, n]} owner={owner} optional={!required.includes(n)} onChange={(v) => onChange(without(value, n, v))} />
  );
  return (
    <div className="object">
      {shown.map(field)}
      {rest.length ? (
        <details>
          <summary>{t.more}</summary>
          {rest.map(field)}
        </details>
      ) : null}
      {schemas && null}
    </div>
  );
}

// A comparison: the properties that are not operators, then one operator and its value.
function Comparison({ schema, value, path, onChange }: FieldProps) {
  const { schemas } = useForm();
  const owner = schemas.nameOf(schema);
  const names = Object.keys(schema.properties);
  const others = names.filter((n) => !OPERATORS.includes(n));
  const ops = names.filter((n) => OPERATORS.includes(n));
  const current = ops.find((o) => value[o] !== undefined && value[o] !== null) || "equals";
  const operand = value[current];
  const setOp = (op: string) => {
    const copy = { ...value };
    delete copy[current];
    copy[op] = operand ?? (op === "is_set" ? true : "");
    onChange(copy);
  };
  return (
    <div className="object comparison">
      {others.map((n) => (
        <Field key={n} schema={schema.properties[n]} value={value[n]} path={[...path, n]} owner={owner} optional={!(schema.required || []).includes(n)} onChange={(v) => onChange(without(value, n, v))} />
      ))}
      <span className="inline">
        <select aria-label={t.operator} data-operator={path.join(".")} value={current} onChange={(e) => setOp(e.target.value)}>
          {ops.map((o) => <option key={o} value={o}>{fieldTitle(owner, o, schema.properties[o]?.title)}</option>)}
        </select>
        {Array.isArray(operand) || (operand && typeof operand === "object") ? (
          <JsonText schema={{}} value={operand} path={[...path, current]} onChange={(v) => onChange(without(value, current, v))} />
        ) : (
          <input aria-label={t.value} name={[...path, current].join(".")} value={operand === undefined || operand === null ? "" : String(operand)} onChange={(e) => onChange(without(value, current, parseScalar(e.target.value)))} />
        )}
      </span>
      <FieldProblems path={[...path, current]} />
    </div>
  );
}

function MapInput({ schema, value, path, onChange }: FieldProps) {
  const { schemas } = useForm();
  const map: Record<string, any> = value && typeof value === "object" ? value : {};
  const rename = (from: string, to: string) => {
    const copy: Record<string, any> = {};
    for (const [k, v] of Object.entries(map)) copy[k === from ? to : k] = v;
    onChange(copy);
  };
  const item = schemas.resolve(schema.additionalProperties);
  return (
    <div className="map">
      {Object.entries(map).map(([key, v]) => (
        <div className="map-row" key={key}>
          <input className="map-key" aria-label={t.property} data-map-key={path.join(".")} defaultValue={key} onBlur={(e) => e.target.value && e.target.value !== key && rename(key, e.target.value)} />
          <Field bare schema={item} value={v} path={[...path, key]} onChange={(next) => onChange(without(map, key, next))} />
          <button type="button" className="link" onClick={() => onChange(without(map, key, undefined))}>{t.removeItem}</button>
        </div>
      ))}
      <button type="button" data-add-item={path.join(".")} onClick={() => onChange({ ...map, [`property_${Object.keys(map).length + 1}`]: skeleton(schemas, item) ?? "" })}>{t.addItem}</button>
    </div>
  );
}

function JsonText({ value, path, onChange }: FieldProps) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 1));
  const [error, setError] = useState("");
  return (
    <>
      <textarea
        name={path.join(".")}
        className="json"
        rows={2}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          try {
            onChange(text.trim() === "" ? undefined : JSON.parse(text));
            setError("");
          } catch {
            setError(t.jsonHelp);
          }
        }}
      />
      {error ? <p className="field-problem">{error}</p> : null}
    </>
  );
}

// A shape's name: a rule's from the workspace catalogue, else its key's title in its $defs.
export function variantLabel(schemas: Schemas, v: { name: string; schema: Schema }, rule: boolean): string {
  if (v.schema.const !== undefined) return choiceLabel(v.schema.const);
  const english = v.schema.properties?.[v.name]?.title;
  return (rule && t.rules[v.name]) || fieldTitle(schemas.nameOf(v.schema), v.name, english);
}

// One of several shapes, each named by its key: condition rules (data-rule-kind buttons),
// a user or users in turn, entry points.
function Variants({ schema, value, path, onChange, optional }: FieldProps) {
  const { schemas } = useForm();
  const variants = schemas.variants(schema);
  const isRule = variants.some((v) => v.name === "event_count");
  const current = variants.find((v) =>
    v.schema.const !== undefined ? value === v.schema.const : value && typeof value === "object" && v.name in value,
  );
  const [choosing, setChoosing] = useState(!current && !optional);
  const choose = (name: string) => {
    const chosen = variants.find((v) => v.name === name);
    setChoosing(false);
    if (!chosen) return onChange(undefined);
    if (chosen.schema.const !== undefined) return onChange(chosen.schema.const);
    onChange({ [name]: skeleton(schemas, chosen.schema.properties[name]) });
  };
  if (isRule && !current && !choosing) {
    return <button type="button" className="link" data-add-rule={path.join(".")} onClick={() => setChoosing(true)}>+ {t.rule}</button>;
  }
  if (isRule && (choosing || !current)) {
    return (
      <div className="rule-choice">
        {variants.map((v) => (
          <button type="button" key={v.name} data-rule-kind={v.name} onClick={() => choose(v.name)}>
            {variantLabel(schemas, v, true)}
          </button>
        ))}
        {optional || current ? <button type="button" className="link" onClick={() => (current ? setChoosing(false) : choose(""))}>{current ? t.cancel : t.none}</button> : null}
      </div>
    );
  }
  const picker = isRule ? (
    <span className="inline">
      <strong>{current ? variantLabel(schemas, current, true) : ""}</strong>
      <button type="button" className="link" data-change-rule={path.join(".")} onClick={() => setChoosing(true)}>{t.chooseRule}</button>
    </span>
  ) : (
    <select data-variant={path.join(".")} value={current?.name ?? ""} onChange={(e) => choose(e.target.value)}>
      {optional || !current ? <option value="">{t.none}</option> : null}
      {variants.map((v) => <option key={v.name} value={v.name}>{variantLabel(schemas, v, false)}</option>)}
    </select>
  );
  if (!current || current.schema.const !== undefined) return picker;
  const inner = current.schema.properties[current.name];
  return (
    <div className="variant">
      {picker}
      <Field bare schema={inner} value={value[current.name]} path={[...path, current.name]} onChange={(v) => onChange({ ...value, [current.name]: v })} />
    </div>
  );
}
