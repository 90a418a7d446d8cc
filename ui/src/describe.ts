// What a step does, in words, for the graph's boxes: the condition ("purchase count = 1"),
// the subject, the list names, the delay ("wait 3 days").
const OPERATORS: Record<string, string> = {
  equals: "=",
  not_equals: "≠",
  gt: ">",
  gte: "≥",
  lt: "<",
  lte: "≤",
  at_least: "≥",
  at_most: "≤",
  contains: "contains",
  starts_with: "starts with",
  in: "in",
  between: "between",
  is_set: "is set",
  before: "before",
  after: "after",
  within_last_days: "within last days",
  anniversary_in_days: "anniversary in days",
};

function show(value: any): string {
  if (Array.isArray(value)) return value.map(show).join(", ");
  if (value && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function comparison(subject: string, test: any): string {
  if (!test || typeof test !== "object") return `${subject} = ${show(test)}`;
  const parts = Object.entries(test)
    .filter(([op, v]) => OPERATORS[op] && v !== null && v !== undefined)
    .map(([op, v]) => `${subject} ${OPERATORS[op]} ${show(v)}`);
  return parts.join(" and ") || subject;
}

function where(filters: any): string {
  if (!filters || typeof filters !== "object" || !Object.keys(filters).length) return "";
  return ` where ${Object.entries(filters)
    .map(([p, test]) => comparison(p, test))
    .join(", ")}`;
}

export function rule(value: any): string {
  if (!value || typeof value !== "object") return "";
  const [kind, test] = Object.entries(value)[0] || ["", null];
  const t: any = test;
  switch (kind) {
    case "event_count":
      return comparison(`${t?.event || "?"} count`, t) + where(t?.where);
    case "attribute":
      return comparison(t?.name || "?", t);
    case "trigger":
      return comparison(`event ${t?.property || "?"}`, t);
    case "webhook":
      return comparison(`webhook ${t?.path || "answer"}`, t);
    case "did_event":
      return `did ${typeof t === "string" ? t : t?.event || "?"}`;
    case "did_not_event":
      return `did not ${typeof t === "string" ? t : t?.event || "?"}`;
    case "in_list":
      return `in list ${show(t)}`;
    case "in_any_list":
      return `in any of ${show(t)}`;
    case "in_no_list":
      return `in none of ${show(t)}`;
    case "random_percent":
      return `${show(t)} % at random`;
    case "message":
      return `${t?.activity || "?"} ${t?.step || "a message"}`;
    case "orders":
      return [t?.count && comparison("orders", t.count), t?.total_spent && comparison("spent", t.total_spent), t?.product && `bought ${t.product}`]
        .filter(Boolean)
        .join(" and ") || "orders";
    case "all":
      return (t || []).map(rule).join(" and ");
    case "any":
      return (t || []).map(rule).join(" or ");
    case "not":
      return `not (${rule(t)})`;
    default:
      return kind ? `${kind} ${show(t)}` : "";
  }
}

export function duration(value: any): string {
  if (!value || typeof value !== "object") return "";
  const units = ["months", "weeks", "days", "hours", "minutes"];
  const parts = units
    .filter((u) => Number(value[u]) > 0)
    .map((u) => `${value[u]} ${Number(value[u]) === 1 ? u.slice(0, -1) : u}`);
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
      return `template ${p.template || "?"}`;
    case "send_notification":
      return ["to", ...(p.to || []), p.to_owner ? "the owner" : "", p.to_attribute || ""]
        .filter(Boolean)
        .join(" ");
    case "add_to_list":
    case "remove_from_list":
      return lists(p.lists);
    case "update_attribute":
      if (p.add !== undefined && p.add !== null) return `${p.name} + ${p.add}`;
      if (p.subtract !== undefined && p.subtract !== null) return `${p.name} − ${p.subtract}`;
      if (p.clear) return `clear ${p.name}`;
      return `${p.name || "?"} = ${show(p.set ?? "")}`;
    case "blocklist":
      return `block ${p.channels || "both"}`;
    case "delay":
      return `wait ${duration(p) || "?"}`;
    case "wait_until":
      return `until ${p.date || p.attribute || "?"}`;
    case "wait_window":
      return `between ${p.from || "?"} and ${p.to || "?"}`;
    case "wait_for_event":
      return `wait for ${p.event || "?"} up to ${duration(p.timeout) || "?"}`;
    case "go_to":
      return `go to ${show(params)}`;
    case "start_workflow":
      return `start ${p.workflow || "?"}`;
    case "record_conversion":
      return `conversion ${p.name || "?"}`;
    case "call_webhook":
      return `${p.method || "POST"} ${p.url || "?"}`;
    case "create_deal":
      return `deal ${p.name || "?"}`;
    case "create_task":
      return `task ${p.title || "?"}`;
    case "assign_user":
      return p.user ? `to ${p.user}` : `in turn: ${lists(p.round_robin)}`;
    default:
      return "";
  }
}

export function entry(value: any): string {
  if (!value || typeof value !== "object") return "";
  const kind = Object.keys(value).find((k) => k !== "contacts") || "";
  const v = value[kind];
  const filter = value.contacts ? ` (contacts: ${rule(value.contacts)})` : "";
  if (kind === "event") return `event ${v}${where(value.where)}${filter}`;
  if (kind === "anniversary") return `anniversary of ${v?.attribute || "?"}${filter}`;
  if (kind === "segment") return `starts matching: ${rule(v)}${filter}`;
  return `${kind.replace(/_/g, " ")}${v && typeof v === "object" && Object.keys(v).length ? ` ${show(v)}` : v && typeof v !== "object" ? ` ${show(v)}` : ""}${filter}`;
}
