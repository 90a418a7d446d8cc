// The catalogues and the language in use. The browser's languages pick one; the switch on every
// page overrides them and is remembered. Adding a language is adding a catalogue here.
import { en } from "./en";
import { de } from "./de";

// Every catalogue has exactly the English one's keys: `Catalogue` is its full shape.
export type Catalogue = typeof en;
type Words = Record<string, string>;
export type Messages = Omit<Catalogue, "groups" | "kinds" | "branches" | "kindBranches" | "rules" | "fields"> & {
  groups: Words; kinds: Words; branches: Words; kindBranches: Record<string, Words>; rules: Words; fields: Words;
};

export const CATALOGUES: Record<string, { name: string; messages: Messages }> = {
  en: { name: "English", messages: en },
  de: { name: "Deutsch", messages: de },
};

const STORE = "journeyman.language";

export function pickLanguage(): string {
  const chosen = localStorage.getItem(STORE);
  if (chosen && CATALOGUES[chosen]) return chosen;
  for (const wanted of navigator.languages || [navigator.language]) {
    const base = wanted.toLowerCase().split("-")[0];
    if (CATALOGUES[base]) return base;
  }
  return "en";
}

export let language = pickLanguage();
// A live binding: modules reading `t` see the language set last.
export let t: Messages = CATALOGUES[language].messages;

export function setLanguage(code: string): void {
  if (!CATALOGUES[code]) return;
  localStorage.setItem(STORE, code);
  language = code;
  t = CATALOGUES[code].messages;
  document.documentElement.lang = code;
}
document.documentElement.lang = language;
