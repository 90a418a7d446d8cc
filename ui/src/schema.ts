// Reading the published workflow JSON Schema (GET /api/v1/schema): the step kinds, their
// ways out, the kinds of entry points and of condition rules. Nothing here names a step
// kind's fields, so a new kind in the schema appears in the builder without UI code.
export type Schema = { [key: string]: any };

export const BRANCH_FIELDS = ["next", "then", "else", "success", "failure"];
const COMMON = ["id", "name", "disabled"];

export class Schemas {
  root: Schema;
  defs: Record<string, Schema>;
  private names = new Map<Schema, string>();

  constructor(root: Schema) {
    this.root = root;
    this.defs = root.$defs || {};
    for (const [name, def] of Object.entries(this.defs)) this.names.set(def, name);
    this.names.set(root, "WorkflowDocument");
  }

  // The $defs name of a resolved schema ("SendEmailParams"): where its words sit in the
  // language catalogues (i18n/schema.ts).
  nameOf(schema: Schema | undefined): string | undefined {
    return schema ? this.names.get(schema) : undefined;
  }

  resolve(schema: Schema | undefined): Schema {
    let found = schema || {};
    while (found.$ref) found = this.defs[String(found.$ref).split("/").pop() as string] || {};
    return found;
  }

  // The step models: kind name -> its step schema (SendEmailStep, ...).
  stepKinds(): Map<string, Schema> {
    const kinds = new Map<string, Schema>();
    for (const member of this.resolve(this.defs.Step).oneOf || []) {
      const step = this.resolve(member);
      const kind = Object.keys(step.properties || {}).find(
        (p) => !COMMON.includes(p) && !BRANCH_FIELDS.includes(p),
      );
      if (kind) kinds.set(kind, step);
    }
    return kinds;
  }

  kindParams(kind: string): Schema {
    return this.stepKinds().get(kind)?.properties?.[kind] || {};
  }

  // The step-level ways out a kind declares (next, then/else, success/failure).
  branchFields(kind: string): string[] {
    const step = this.stepKinds().get(kind);
    return BRANCH_FIELDS.filter((b) => step?.properties?.[b] !== undefined);
  }

  // The members of a oneOf of objects, each named by its one distinguishing required key.
  variants(schema: Schema): { name: string; schema: Schema }[] {
    const members = this.resolve(schema).oneOf || [];
    return members.map((m: Schema) => {
      const resolved = this.resolve(m);
      if (resolved.const !== undefined) return { name: String(resolved.const), schema: resolved };
      const required: string[] = (resolved.required || []).filter((r: string) => r !== "contacts");
      return { name: required[0] || Object.keys(resolved.properties || {})[0], schema: resolved };
    });
  }

  entryKinds(): { name: string; schema: Schema }[] {
    return this.variants(this.resolve(this.root.properties.entry_points.items));
  }

  ruleSchema(): Schema {
    return this.resolve(this.kindParams("if"));
  }
}

// The smallest value a schema asks for: required fields only, empty where the user must
// choose (validation then says what is missing, on its field).
export function skeleton(schemas: Schemas, schema: Schema): any {
  const s = schemas.resolve(schema);
  if (s.oneOf || s.anyOf) return {};
  if (s.type === "object" || s.properties) {
    const value: Record<string, any> = {};
    for (const name of s.required || []) value[name] = skeleton(schemas, s.properties[name]);
    return value;
  }
  if (s.type === "array") return [];
  if (s.type === "string") return s.enum ? s.enum[0] : "";
  if (s.type === "boolean") return false;
  return undefined;
}

export function nonNull(schema: Schema): Schema[] {
  return (schema.anyOf || []).filter((m: Schema) => m.type !== "null");
}
