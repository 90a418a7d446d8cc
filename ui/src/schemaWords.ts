// The words of the workflow JSON Schema in the workspace's language: field labels, help texts,
// enum choices. The schema (GET /api/v1/schema) speaks English to developers; a catalogue
// (i18n/schema.LANG.json) gives each title and description in a language, keyed by where it sits:
//   "SendEmailParams.subject"  the property ``subject`` of the schema's $defs/SendEmailParams;
//   "subject"                  the property ``subject`` wherever no key above names it;
//   "SendEmailParams"          the description of the $defs entry itself (help only).
// The workflow document's own properties sit under "WorkflowDocument". What a catalogue lacks
// falls back to the schema's English, so a new step kind appears without UI code, and adding a
// language is adding a catalogue here (tests/unit/web/test_schema_catalogue.py lists the gaps).
import { language, t } from "./i18n";
import de from "./i18n/schema.de.json";
import en from "./i18n/schema.en.json";

export type SchemaCatalogue = {
  titles: Record<string, string>;
  help: Record<string, string>;
  choices: Record<string, string>;
  problems: Record<string, string>; // the validator's problems by their code
};

export const SCHEMA_CATALOGUES: Record<string, SchemaCatalogue> = { en, de };

function catalogue(): SchemaCatalogue {
  return SCHEMA_CATALOGUES[language] || SCHEMA_CATALOGUES.en;
}

function lookup(table: Record<string, string>, owner: string | undefined, name: string): string | undefined {
  return (owner && table[`${owner}.${name}`]) || table[name];
}

// "days_before" → "Days before": the last resort for a name no one titled.
export function words(name: string): string {
  return name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

// The schema's English for people: its ``code`` marks are for the YAML reader.
function plain(text: string): string {
  return text.replace(/``/g, "").replace(/\s*\n\s*/g, " ");
}

export function fieldTitle(owner: string | undefined, name: string, english?: string): string {
  return lookup(catalogue().titles, owner, name) || lookup(en.titles, owner, name) || english || words(name);
}

// Help only where the schema has some: a catalogue does not invent help the schema lacks.
export function fieldHelp(owner: string | undefined, name: string, english?: string): string | undefined {
  if (!english) return undefined;
  return lookup(catalogue().help, owner, name) || plain(english);
}

export function defHelp(name: string | undefined, english?: string): string | undefined {
  if (!english) return undefined;
  return (name && catalogue().help[name]) || plain(english);
}

export function choiceLabel(value: unknown): string {
  const text = String(value);
  return catalogue().choices[text] || (en.choices as Record<string, string>)[text] || text.replace(/_/g, " ");
}

// A step kind's name (palette, boxes, forms): the workspace catalogue's, else the schema's.
export function kindName(kind: string, english?: string): string {
  return t.kinds[kind] || english || words(kind);
}

// A validator's problem in the workspace's language when its code is known, else its message
// (English, as the server words it).
export function problemText(problem: { code?: string | null; message: string }): string {
  return (problem.code && catalogue().problems[problem.code]) || problem.message;
}
