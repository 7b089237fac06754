// Read models, as the user can see them: each one's state (live, or
// rebuilding with its progress), how far it trails the event store (lag, in
// events) and whether it has this tab's last change yet. Reads of the
// balances wait for that change anyway (read-your-writes, ryw.ts); this
// panel shows why a read can take a moment.
import type { ApiClient, ProjectionList, ProjectionView } from './api.js';
import { byTestId, h, localTime } from './dom.js';

/** How often the panel asks, while the page is visible. */
export const PROJECTIONS_POLL_MS = 2_000;

/** "live", "rebuilding 40 % (replaying)", "unreachable". */
export function projectionState(p: ProjectionView): string {
  if (p.status !== 'rebuilding') return p.status;
  const r = p.rebuild;
  if (!r) return 'rebuilding';
  const phase = r.phase ? ` (${r.phase})` : '';
  if (typeof r.replayed === 'number' && typeof r.head === 'number' && r.head > 0) {
    const pct = Math.min(100, Math.floor((r.replayed / r.head) * 100));
    return `rebuilding ${pct} %${phase}: ${r.replayed} of ${r.head} events`;
  }
  return `rebuilding${phase}`;
}

export function lagText(p: ProjectionView): string {
  if (p.lag === null) return 'unknown';
  if (p.lag === 0) return 'up to date';
  return `${p.lag} event${p.lag === 1 ? '' : 's'} behind`;
}

export class ProjectionsPanel {
  private readonly root = byTestId('projections');
  private readonly rows = byTestId('projections-rows');
  private readonly note = byTestId('projections-note');
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private readonly onVisible = () => {
    if (this.running && document.visibilityState === 'visible') this.pollSoon(0);
  };

  constructor(private readonly api: ApiClient, private readonly ownPosition: () => number | null, private readonly pollMs = PROJECTIONS_POLL_MS) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.root.hidden = false;
    document.addEventListener('visibilitychange', this.onVisible);
    this.pollSoon(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    document.removeEventListener('visibilitychange', this.onVisible);
    this.rows.replaceChildren();
    this.note.textContent = '';
    this.root.hidden = true;
  }

  private pollSoon(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    this.timer = null;
    if (!this.running) return;
    if (document.visibilityState === 'visible') {
      const r = await this.api.projections();
      if (!this.running) return;
      if (r.ok) this.render(r.body);
      else this.note.textContent = 'Read models: no answer just now.';
    }
    if (this.running && !this.timer) this.pollSoon(this.pollMs);
  }

  render(list: ProjectionList): void {
    const own = this.ownPosition();
    this.rows.replaceChildren(...list.items.map((p) => {
      const hasOwn = own === null || p.checkpoint === null ? null : p.checkpoint >= own;
      const facts = [
        p.checkpoint === null ? 'checkpoint unknown' : `checkpoint ${p.checkpoint}`,
        hasOwn === null ? '' : hasOwn ? 'has your last change' : 'not yet your last change',
        p.lastRebuild?.outcome ? `last rebuild ${p.lastRebuild.outcome}` : '',
        p.lastUpdated ? `updated ${localTime(p.lastUpdated)}` : '',
      ].filter((x) => x);
      return h('li', { class: 'rm', 'data-testid': `projection-${p.name}`, 'data-status': p.status, 'data-lag': p.lag ?? '' },
        h('div', { class: 'rm-line' },
          h('strong', { class: 'rm-name' }, p.name),
          h('span', { 'data-testid': 'projection-state', class: `rm-state rm-${p.status}` }, projectionState(p)),
          h('span', { 'data-testid': 'projection-lag', class: 'rm-lag' }, lagText(p))),
        h('div', { class: 'muted rm-facts' }, facts.join(' · ')),
      );
    }));
    this.note.textContent = list.headPosition === null ? 'Event store head: unknown.' : `Event store head: position ${list.headPosition}.`;
  }
}
