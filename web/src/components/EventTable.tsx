// A table of event-log rows (the live feed, the logs page, an attacker's timeline). The body is
// patched by hand rather than diffed: new rows at the top are built and inserted, rows that fell
// off the bottom are removed, and nothing else is touched. At 100 events/s that is a couple of row
// insertions per frame instead of a reconciliation of the whole list, which keeps the page fluid.
// Attacker-controlled text only ever goes into textContent.
import { useLayoutEffect, useRef } from 'preact/hooks';
import { clock, dateTime, eventSummary } from '../lib/format.ts';
import { attackerHref } from './ui.tsx';
import type { LogRow } from '../lib/types.ts';

interface Options {
  fullDate: boolean;
  showAttacker: boolean;
}

function cell(tr: HTMLTableRowElement, text: string, cls?: string, title?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text;
  if (title) td.title = title;
  tr.appendChild(td);
  return td;
}

function buildRow(row: LogRow, o: Options): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.id = String(row.id);
  cell(tr, o.fullDate ? dateTime(row.ts) : clock(row.ts), 'c-time mono', row.ts);
  cell(tr, row.decky ?? '—', 'c-decky', row.decky ?? undefined);
  cell(tr, row.service ?? '—', 'c-service');
  const ev = cell(tr, '', 'c-event');
  const span = document.createElement('span');
  span.className = `ev ev-${(row.event_type ?? '').replace(/[^a-z_]/g, '')}`;
  span.textContent = row.event_type ?? '—';
  ev.appendChild(span);
  if (o.showAttacker) {
    const td = cell(tr, row.attacker_ip ? '' : '—', 'c-attacker mono');
    if (row.attacker_ip) {
      const a = document.createElement('a');
      a.href = attackerHref(row.attacker_ip);
      a.textContent = row.attacker_ip;
      td.appendChild(a);
    }
  }
  const summary = eventSummary(row.fields, row.msg);
  cell(tr, summary, 'summary', summary);
  return tr;
}

/**
 * Brings `body` from showing `shown` to showing `rows` with the fewest DOM changes. With `mark`, the
 * rows of the newest batch carry the class "new" until the next batch (a static highlight: an
 * animation would repaint the list at every frame during a burst).
 */
function patch(body: HTMLTableSectionElement, shown: number[], rows: LogRow[], o: Options, mark: boolean): number[] {
  const ids = rows.map((r) => r.id);
  const k = shown.length > 0 ? ids.indexOf(shown[0]) : -1;
  let prefix = k >= 0;
  for (let i = 0; prefix && i < shown.length && k + i < ids.length; i++) if (ids[k + i] !== shown[i]) prefix = false;
  if (!prefix && shown.length > 0) {
    body.textContent = '';
    shown = [];
  }
  const fresh = prefix ? rows.slice(0, k) : rows;
  if (fresh.length > 0) {
    if (mark) for (const old of Array.from(body.querySelectorAll('tr.new'))) old.classList.remove('new');
    const frag = document.createDocumentFragment();
    for (const r of fresh) {
      const tr = buildRow(r, o);
      if (mark && shown.length > 0) tr.classList.add('new');
      frag.appendChild(tr);
    }
    body.insertBefore(frag, body.firstChild);
  }
  // Drop what fell off the end.
  while (body.rows.length > ids.length) body.deleteRow(-1);
  return ids;
}

/** `live`: rows that arrive after the first render are highlighted until the next ones arrive. */
export function EventTable({ rows, fullDate = false, showAttacker = true, live = false, label }: { rows: LogRow[]; fullDate?: boolean; showAttacker?: boolean; live?: boolean; label: string }) {
  const body = useRef<HTMLTableSectionElement>(null);
  const shown = useRef<number[]>([]);
  const options = useRef<Options>({ fullDate, showAttacker });
  useLayoutEffect(() => {
    const el = body.current;
    if (!el) return;
    const o = options.current;
    if (o.fullDate !== fullDate || o.showAttacker !== showAttacker) {
      options.current = { fullDate, showAttacker };
      el.textContent = '';
      shown.current = [];
    }
    shown.current = patch(el, shown.current, rows, options.current, live);
  }, [rows, fullDate, showAttacker, live]);
  return (
    <div class="table-wrap">
      <table class={`events${live ? ' live' : ''}${fullDate ? ' dated' : ''}`} aria-label={label}>
        <thead>
          <tr>
            <th class="c-time">Time</th>
            <th class="c-decky">Decky</th>
            <th class="c-service">Service</th>
            <th class="c-event">Event</th>
            {showAttacker && <th class="c-attacker">Attacker</th>}
            <th>Details</th>
          </tr>
        </thead>
        <tbody ref={body} />
      </table>
    </div>
  );
}
