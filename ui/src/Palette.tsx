// The palette a "+" opens, grouped as the source document groups the actions; a kind the
// schema has and no group names lands in "other", so new kinds appear without UI code.
import { Schemas } from "./schema";
import { t } from "./i18n";
import { kindName } from "./schemaWords";

const GROUPS: [string, string[]][] = [
  ["send", ["send_email", "send_sms", "send_whatsapp", "send_notification"]],
  ["lists", ["add_to_list", "remove_from_list"]],
  ["contact", ["update_attribute", "blocklist", "create_deal", "create_task", "assign_user"]],
  ["workflow", ["start_workflow", "go_to"]],
  ["advanced", ["call_webhook", "record_conversion"]],
  ["conditions", ["if", "switch", "split", "wait_for_event"]],
  ["timing", ["delay", "wait_until", "wait_window"]],
];

export function Palette({ schemas, onPick, onCancel }: { schemas: Schemas; onPick: (kind: string) => void; onCancel: () => void }) {
  const kinds = [...schemas.stepKinds().keys()];
  const named = new Set(GROUPS.flatMap(([, k]) => k));
  const groups: [string, string[]][] = [
    ...GROUPS.map(([g, k]): [string, string[]] => [g, k.filter((x) => kinds.includes(x))]),
    ["other", kinds.filter((k) => !named.has(k))],
  ];
  return (
    <div className="overlay" role="dialog" aria-label={t.addTitle}>
      <section className="palette">
        <header>
          <h2>{t.addTitle}</h2>
          <button type="button" data-action="cancel" onClick={onCancel}>{t.cancel}</button>
        </header>
        <div className="groups">
          {groups.filter(([, k]) => k.length).map(([group, members]) => (
            <div className="group" key={group} data-group={group}>
              <h3>{t.groups[group]}</h3>
              {members.map((kind) => (
                <button type="button" key={kind} data-step-kind={kind} onClick={() => onPick(kind)}>
                  {kindName(kind, schemas.kindParams(kind).title)}
                </button>
              ))}
            </div>
          ))}
        </div>
      </section>
    </div>
  );
}
