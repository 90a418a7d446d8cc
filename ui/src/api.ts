// The builder is a client of /api/v1 and /v3, with the API key the vanilla UI keeps in the
// tab's sessionStorage (same origin, same tab: signing in there signs in here).
export const KEY_STORE = "journeyman.api-key";

export type Problem = { message: string; step?: string | null; field?: string | null; code?: string | null };

export class ApiError extends Error {
  status: number;
  problems: Problem[];
  constructor(status: number, message: string, problems: Problem[] = []) {
    super(message);
    this.status = status;
    this.problems = problems;
  }
}

export function apiKey(): string {
  return sessionStorage.getItem(KEY_STORE) || "";
}

export async function api<T>(path: string, method = "GET", body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "api-key": apiKey(), accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null as T;
  const text = await response.text();
  let found: any = null;
  try {
    found = text ? JSON.parse(text) : null;
  } catch {
    found = { message: text };
  }
  if (!response.ok) {
    const message = `${found?.code || response.status}: ${found?.message || ""}`;
    throw new ApiError(response.status, message, found?.problems || []);
  }
  return found as T;
}

export type Catalogue = {
  lists: string[];
  attributes: { name: string; type?: string }[];
  users: { email: string; name?: string }[];
  workflows: { key: string; name: string }[];
};

async function quietly<T>(work: Promise<T>, fallback: T): Promise<T> {
  try {
    return await work;
  } catch {
    return fallback;
  }
}

// What exists on the server, for the pickers. Each part fails alone (a missing route on an
// older server leaves its picker as free text).
export async function loadCatalogue(): Promise<Catalogue> {
  const [lists, attributes, users, workflows] = await Promise.all([
    quietly(api<any>("/v3/contacts/lists?limit=50"), { lists: [] }),
    quietly(api<any>("/v3/contacts/attributes"), { attributes: [] }),
    quietly(api<any>("/api/v1/users"), { users: [] }),
    quietly(api<any>("/api/v1/workflows"), { workflows: [] }),
  ]);
  return {
    lists: (lists.lists || []).map((l: any) => String(l.name)),
    attributes: (attributes.attributes || []).map((a: any) => ({ name: a.name, type: a.type })),
    users: (users.users || []).map((u: any) => ({ email: u.email, name: u.name })),
    workflows: (workflows.workflows || []).map((w: any) => ({ key: w.key, name: w.name })),
  };
}

export type ListInfo = { id: number; name: string; totalSubscribers: number };
export type AttributeInfo = { name: string; type?: string; category?: string };
export type ContactInfo = {
  id: number; email: string | null; emailBlacklisted: boolean; createdAt: string;
  attributes: Record<string, unknown>; listIds: number[];
};

// Every list, page by page (the route gives at most 50 at a time), oldest first.
export async function allLists(): Promise<ListInfo[]> {
  const found: ListInfo[] = [];
  for (let offset = 0; ; offset += 50) {
    const page = await api<{ lists: ListInfo[]; count: number }>(`/v3/contacts/lists?limit=50&offset=${offset}&sort=asc`);
    found.push(...page.lists);
    if (!page.lists.length || found.length >= page.count) return found;
  }
}

export async function attributeDefinitions(): Promise<AttributeInfo[]> {
  const found = await api<{ attributes: AttributeInfo[] }>("/v3/contacts/attributes");
  return found.attributes || [];
}
