// Contacts: search by email, attribute filters, list membership, sort by any number attribute,
// paged. The query lives in the address (#/contacts?search=&list=&filter=&sort=&offset=), the
// same parameters as GET /api/v1/contacts, so going back from a contact finds the same page.
import { useEffect, useState } from "react";
import { api, allLists, attributeDefinitions } from "./api";
import type { AttributeInfo, ContactInfo, ListInfo } from "./api";
import { t } from "./i18n";

export const PAGE_SIZE = 20;
const OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "contains", "set", "unset"] as const;
type Filter = { name: string; op: string; value: string };

export function isNumber(a: AttributeInfo): boolean {
  return a.type === "float" || a.type === "number";
}

function parseFilter(text: string): Filter {
  const [name, op, ...rest] = text.split(":");
  return { name: name || "", op: op || "eq", value: rest.join(":") };
}

export function Contacts({ query }: { query: URLSearchParams }) {
  const [lists, setLists] = useState<ListInfo[]>([]);
  const [attributes, setAttributes] = useState<AttributeInfo[]>([]);
  const [found, setFound] = useState<{ contacts: ContactInfo[]; count: number } | null>(null);
  const [error, setError] = useState("");
  const [search, setSearch] = useState(query.get("search") || "");
  const [filters, setFilters] = useState<Filter[]>(query.getAll("filter").map(parseFilter));
  const sort = query.get("sort") || "";
  const offset = Number(query.get("offset") || 0);

  useEffect(() => {
    allLists().then(setLists, () => setLists([]));
    attributeDefinitions().then(setAttributes, () => setAttributes([]));
  }, []);
  useEffect(() => {
    setFound(null);
    const params = new URLSearchParams(query);
    params.set("limit", String(PAGE_SIZE));
    api<{ contacts: ContactInfo[]; count: number }>(`/api/v1/contacts?${params}`).then(
      (f) => { setFound(f); setError(""); },
      (e: Error) => setError(e.message),
    );
  }, [query.toString()]);

  // Every change of the query is a new address: back and forward walk through them.
  const go = (change: (p: URLSearchParams) => void) => {
    const next = new URLSearchParams(query);
    next.delete("offset");
    change(next);
    location.hash = `#/contacts?${next}`;
  };
  const apply = () => go((p) => {
    if (search.trim()) p.set("search", search.trim()); else p.delete("search");
    p.delete("filter");
    for (const f of filters) if (f.name) p.append("filter", `${f.name}:${f.op}:${f.value}`);
  });
  const numbers = attributes.filter(isNumber);
  const sorted = sort.replace(/^-/, "");
  const listName = new Map(lists.map((l) => [l.id, l.name]));
  const page = Math.floor(offset / PAGE_SIZE) + 1;
  const pages = found ? Math.max(1, Math.ceil(found.count / PAGE_SIZE)) : 1;

  return (
    <main className="page contacts">
      <h1>{t.contacts.title}</h1>
      <form className="query" onSubmit={(e) => { e.preventDefault(); apply(); }}>
        <label className="field"><span className="label">{t.contacts.search}</span>
          <input name="search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
        <label className="field"><span className="label">{t.contacts.inList}</span>
          <select name="list" value={query.get("list") || ""} onChange={(e) => go((p) => { if (e.target.value) p.set("list", e.target.value); else p.delete("list"); })}>
            <option value="">{t.contacts.anyList}</option>
            {lists.map((l) => <option key={l.id} value={l.id}>{l.name}</option>)}
          </select>
        </label>
        <label className="field"><span className="label">{t.contacts.sortBy}</span>
          <select name="sort" value={sort} onChange={(e) => go((p) => { if (e.target.value) p.set("sort", e.target.value); else p.delete("sort"); })}>
            <option value="">{t.contacts.newest}</option>
            {numbers.flatMap((a) => [
              <option key={`-${a.name}`} value={`-${a.name}`}>{a.name} · {t.contacts.descending}</option>,
              <option key={a.name} value={a.name}>{a.name} · {t.contacts.ascending}</option>,
            ])}
          </select>
        </label>
        <fieldset className="filters">
          <legend>{t.contacts.filters}</legend>
          {filters.map((f, i) => {
            const set = (patch: Partial<Filter>) => setFilters(filters.map((g, j) => (j === i ? { ...g, ...patch } : g)));
            return (
              <div className="filter" key={i} data-filter={i}>
                <select name={`filter.${i}.attribute`} aria-label={t.contacts.attribute} value={f.name} onChange={(e) => set({ name: e.target.value })}>
                  <option value="">{t.contacts.attribute}</option>
                  {attributes.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
                </select>
                <select name={`filter.${i}.op`} aria-label={t.contacts.operator} value={f.op} onChange={(e) => set({ op: e.target.value })}>
                  {OPS.map((op) => <option key={op} value={op}>{t.contacts.ops[op]}</option>)}
                </select>
                {f.op === "set" || f.op === "unset" ? null : (
                  <input name={`filter.${i}.value`} aria-label={t.contacts.value} value={f.value} onChange={(e) => set({ value: e.target.value })} />
                )}
                <button type="button" className="link" aria-label={t.removeItem} onClick={() => setFilters(filters.filter((_, j) => j !== i))}>✕</button>
              </div>
            );
          })}
          <button type="button" data-action="add-filter" onClick={() => setFilters([...filters, { name: "", op: "gte", value: "" }])}>{t.contacts.addFilter}</button>
        </fieldset>
        <span className="buttons">
          <button type="submit" className="primary" data-action="search">{t.contacts.searchButton}</button>
          <button type="button" data-action="top-leads" onClick={() => go((p) => p.set("sort", "-LEAD_SCORE"))}>{t.contacts.topLeads}</button>
        </span>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {!found ? <p className="help">{t.loading}</p> : (
        <>
          <p className="help" data-count={found.count}>{found.count} {t.contacts.found}</p>
          {!found.contacts.length ? <p className="empty" data-empty>{t.contacts.none}</p> : (
            <div className="table-wrap">
              <table className="rows" data-contacts>
                <thead>
                  <tr>
                    <th>{t.contacts.email}</th>
                    {sorted ? <th className="number">{sorted}</th> : null}
                    <th className="wide">{t.contacts.lists}</th>
                    <th className="wide">{t.contacts.created}</th>
                  </tr>
                </thead>
                <tbody>
                  {found.contacts.map((c) => (
                    <tr key={c.id} data-contact={c.email || c.id}>
                      <td><a href={`#/contacts/${c.id}`}>{c.email || `#${c.id}`}</a></td>
                      {sorted ? <td className="number" data-sort-value>{String(c.attributes[sorted] ?? "")}</td> : null}
                      <td className="wide">{c.listIds.map((id) => listName.get(id) || `#${id}`).join(", ")}</td>
                      <td className="wide">{c.createdAt.slice(0, 10)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <Pager page={page} pages={pages} onPage={(n) => go((p) => { if (n > 1) p.set("offset", String((n - 1) * PAGE_SIZE)); })} />
        </>
      )}
    </main>
  );
}

export function Pager({ page, pages, onPage }: { page: number; pages: number; onPage: (n: number) => void }) {
  if (pages <= 1) return null;
  return (
    <p className="pager">
      <button type="button" data-action="previous-page" disabled={page <= 1} onClick={() => onPage(page - 1)}>{t.contacts.previous}</button>
      <span data-page={page}>{t.contacts.page} {page} {t.contacts.of} {pages}</span>
      <button type="button" data-action="next-page" disabled={page >= pages} onClick={() => onPage(page + 1)}>{t.contacts.next}</button>
    </p>
  );
}
