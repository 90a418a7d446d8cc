// The workspace's top bar on every page: the workflows, the builder, contacts, lists, the
// outbox, reports, the classic pages, and the language switch (which overrides the browser's languages and is
// remembered).
import { CATALOGUES, language, t } from "./i18n";

export type PageName = "workflows" | "builder" | "contacts" | "lists" | "messages" | "reports";
type Props = { page: PageName; onLanguage: (code: string) => void };

export function Nav({ page, onLanguage }: Props) {
  const link = (name: Props["page"], href: string, label: string) => (
    <a href={href} data-nav={name} aria-current={page === name ? "page" : undefined}>{label}</a>
  );
  return (
    <nav className="nav">
      <span className="brand">Journeyman</span>
      {link("workflows", "#/workflows", t.nav.workflows)}
      {link("builder", "#/new", t.nav.builder)}
      {link("contacts", "#/contacts", t.nav.contacts)}
      {link("lists", "#/lists", t.nav.lists)}
      {link("messages", "#/messages", t.outbox.nav)}
      {link("reports", "#/reports", t.reports.nav)}
      <a href="/ui/#/" data-nav="classic">{t.nav.classic}</a>
      <label className="language">
        <span>{t.language}</span>
        <select name="language" data-action="language" value={language} onChange={(e) => onLanguage(e.target.value)}>
          {Object.entries(CATALOGUES).map(([code, c]) => <option key={code} value={code}>{c.name}</option>)}
        </select>
      </label>
    </nav>
  );
}
