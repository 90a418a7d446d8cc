// What a step does, in words, for the graph's boxes: the condition ("purchase count = 1"),
// the subject, the list names, the delay ("wait 3 days"), in the catalogue's language.
import { t as m } from "./i18n";
import { choiceLabel, fieldTitle } from "./schemaWords";

const SYMBOLS: Record<string, string> = {
  equals: "=", not_equals: "≠", gt: ">", gte: "≥", lt: "<", lte: "≤", at_least: "≥", at_most: "≤",
};
const WORDED = ["contains", "starts_with", "in", "between", "is_set", "before", "after", "within_last_days", "anniversary_in_days"];

function operator(op: string): string | undefined {
  if (SYMBOLS[op]) return SYMBOLS[op];
  return WORDED.includes(op) ? (m.words as Record<string, string>)[op] : undefined;
}

function show(value: any): string {
  if (Array.isArray(value)) return value.map(show).join(", ");
  if (value && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function comparison(subject: string, test: any): string {
  if (!test || typeof test !== "object") return `${subject} = ${show(test)}`;
  const parts = Object.entries(test)
    .filter(([op, v]) => operator(op) && v !== null && v !== undefined)
    .map(([op, v]) => `${subject} ${operator(op)} ${show(v)}`);
  return parts.join(` ${m.words.and} `) || subject;
}

function where(filters: any): string {
  if (!filters || typeof filters !== "object" || !Object.keys(filters).length) return "";
  return ` ${m.words.where} ${Object.entries(filters)
    .map(([p, test]) => comparison(p, test))
    .join(", ")}`;
}

export function rule(value: any): string {
  if (!value || typeof value !== "object") return "";
  const [kind, test] = Object.entries(value)[0] || ["", null];
  const t: any = test;
  switch (kind) {
    case "event_count":
      return comparison(`${t?.event || "?"} ${m.words.count}`, t) + where(t?.where);
    case "attribute":
      return comparison(t?.name || "?", t);
    case "trigger":
      return comparison(`${m.words.event} ${t?.property || "?"}`, t);
    case "webhook":
      return comparison(`${m.words.webhook} ${t?.path || m.words.webhookAnswer}`, t);
    case "did_event":
      return `${m.words.did} ${typeof t === "string" ? t : t?.event || "?"}`;
    case "did_not_event":
      return `${m.words.didNot} ${typeof t === "string" ? t : t?.event || "?"}`;
    case "in_list":
      return `${m.words.inList} ${show(t)}`;
    case "in_any_list":
      return `${m.words.inAnyOf} ${show(t)}`;
    case "in_no_list":
      return `${m.words.inNoneOf} ${show(t)}`;
    case "random_percent":
      return `${show(t)} ${m.words.atRandom}`;
    case "message":
      return `${t?.activity ? choiceLabel(t.activity) : "?"} ${t?.step || m.words.aMessage}`;
    case "orders":
      return [t?.count && comparison(m.words.orders, t.count), t?.total_spent && comparison(m.words.spent, t.total_spent), t?.product && `${m.words.bought} ${t.product}`]
        .filter(Boolean)
        .join(` ${m.words.and} `) || m.words.orders;
    case "all":
      return (t || []).map(rule).join(` ${m.words.and} `);
    case "any":
      return (t || []).map(rule).join(` ${m.words.or} `);
    case "not":
      return `${m.words.not} (${rule(t)})`;
    default:
      return kind ? `${kind} ${show(t)}` : "";
  }
}

export function duration(value: any): string {
  if (!value || typeof value !== "object") return "";
  const units = ["months", "weeks", "days", "hours", "minutes"] as const;
  const parts = units
    .filter((u) => Number(value[u]) > 0)
    .map((u) => `${value[u]} ${m.units[u][Number(value[u]) === 1 ? 0 : 1]}`);
  return parts.join(" ");
}

function lists(value: any): string {
  return show(Array.isArray(value) ? value : value ? [value] : []);
}

export function describe(kind: string, params: any): string {
  const p = params || {};
  switch (kind) {
    case "if":
      return rule(p);
    case "switch":
      return (p.branches || []).map((b: any) => rule(b?.when)).join(" | ");
    case "split":
      return (p.paths || []).map((path: any) => `${path?.percent ?? "?"} %`).join(" / ");
    case "send_email":
      return p.subject || "";
    case "send_sms":
      return p.text || "";
    case "send_whatsapp":
      return `${m.words.template} ${p.template || "?"}`;
    case "send_notification":
      return [m.words.to, ...(p.to || []), p.to_owner ? m.words.theOwner : "", p.to_attribute || ""]
        .filter(Boolean)
        .join(" ");
    case "add_to_list":
    case "remove_from_list":
      return lists(p.lists);
    case "update_attribute":
      if (p.add !== undefined && p.add !== null) return `${p.name} + ${p.add}`;
      if (p.subtract !== undefined && p.subtract !== null) return `${p.name} − ${p.subtract}`;
      if (p.clear) return `${m.words.clear} ${p.name}`;
      return `${p.name || "?"} = ${show(p.set ?? "")}`;
    case "blocklist":
      return `${m.words.block} ${choiceLabel(p.channels || "both")}`;
    case "delay":
      return `${m.words.wait} ${duration(p) || "?"}`;
    case "wait_until":
      return `${m.words.until} ${p.date || p.attribute || "?"}`;
    case "wait_window":
      return `${m.words.between} ${p.from || "?"} ${m.words.and} ${p.to || "?"}`;
    case "wait_for_event":
      return `${m.words.waitFor} ${p.event || "?"} ${m.words.upTo} ${duration(p.timeout) || "?"}`;
    case "go_to":
      return `${m.words.goTo} ${show(params)}`;
    case "start_workflow":
      return `${m.words.start} ${p.workflow || "?"}`;
    case "record_conversion":
      return `${m.words.conversion} ${p.name || "?"}`;
    case "call_webhook":
      return `${p.method || "POST"} ${p.url || "?"}`;
    case "create_deal":
      return `${m.words.deal} ${p.name || "?"}`;
    case "create_task":
      return `${m.words.task} ${p.title || "?"}`;
    case "assign_user":
      return p.user ? `${m.words.to} ${p.user}` : `${m.words.inTurn} ${lists(p.round_robin)}`;
    default:
      return "";
  }
}

export function entry(value: any): string {
  if (!value || typeof value !== "object") return "";
  const kind = Object.keys(value).find((k) => k !== "contacts") || "";
  const v = value[kind];
  const filter = value.contacts ? ` (${m.words.contacts}: ${rule(value.contacts)})` : "";
  if (kind === "event") return `${m.words.event} ${v}${where(value.where)}${filter}`;
  if (kind === "anniversary") return `${m.words.anniversaryOf} ${v?.attribute || "?"}${filter}`;
  if (kind === "segment") return `${m.words.startsMatching} ${rule(v)}${filter}`;
  return `${fieldTitle(undefined, kind)}${v && typeof v === "object" && Object.keys(v).length ? ` ${show(v)}` : v && typeof v !== "object" ? ` ${show(v)}` : ""}${filter}`;
}

// A workflow-wide event rule (exit, restart, goal) in words: "event order_created (same cart_id)".
export function eventRule(value: any): string {
  if (!value || typeof value !== "object") return "";
  const same = value.same ? ` (${m.reading.same} ${value.same})` : "";
  return `${m.words.event} ${value.event || "?"}${where(value.where)}${same}`;
}

// May a contact enter again: once, on every trigger, after N days.
export function reentry(value: any): string {
  if (value === "every_time") return m.reading.reentryEvery;
  const days = value && typeof value === "object" ? value.after?.days : undefined;
  if (days) return `${m.reading.reentryAfter} ${duration({ days })}`;
  return m.reading.reentryOnce;
}
