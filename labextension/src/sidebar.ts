// The "Runs" sidebar: an experiment's runs, newest first, with their status and one metric,
// filtered with the search grammar; redrawn when the store changes (a long-poll on the
// store's marker files, never a timer reading the database). A run opens its page.
import { Widget } from '@lumino/widgets';

import { changes, get, IExperiment, IRunRow, IRunsPage } from './api';

const PAGE_SIZE = '100';

export interface ISidebarOptions {
  openRun: (runId: string, name: string) => void;
  metric: () => string;
  minRedrawMs: () => number;
}

export class RunsSidebar extends Widget {
  private _actions = document.createElement('div');
  private _experiments = document.createElement('select');
  private _filter = document.createElement('input');
  private _notes = document.createElement('div');
  private _list = document.createElement('ul');
  private _version = '';
  private _asked = 0;
  private _drawn = 0;
  private _stopped = false;

  constructor(private _options: ISidebarOptions) {
    super();
    this.id = 'nbtrack-runs';
    this.addClass('nbt-Sidebar');
    this.title.caption = 'nbtrack: runs';
    this.title.label = 'Runs';
    this._filter.type = 'search';
    this._filter.className = 'nbt-Sidebar-filter';
    this._filter.placeholder = "metrics.acc > 0.9 and params.lr = '0.1'";
    this._filter.title = 'A filter in the search grammar; Enter to apply';
    this._filter.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void this.refresh();
      }
    });
    this._experiments.className = 'nbt-Sidebar-experiments';
    this._experiments.addEventListener('change', () => void this.refresh());
    this._notes.className = 'nbt-Sidebar-notes';
    this._list.className = 'nbt-Sidebar-runs';
    this._actions.className = 'nbt-Sidebar-actions';
    this.node.append(
      this._actions,
      this._experiments,
      this._filter,
      this._notes,
      this._list
    );
    void this._follow();
  }

  addAction(label: string, run: () => unknown): void {
    const button = document.createElement('button');
    button.className = 'nbt-Sidebar-action';
    button.textContent = label;
    button.addEventListener('click', () => void run());
    this._actions.append(button);
  }

  dispose(): void {
    this._stopped = true;
    super.dispose();
  }

  async refresh(): Promise<void> {
    // Answers can arrive out of order (a change lands while the experiment is switched):
    // only the latest request draws.
    const mine = ++this._asked;
    try {
      await this._drawExperiments();
      const experiment = this._experiments.value;
      if (!experiment) {
        this._say('No runs in this store yet: run a %%track cell.');
        this._list.replaceChildren();
        return;
      }
      const page = await get<IRunsPage>('runs', {
        experiment,
        filter: this._filter.value.trim(),
        sort: '-start_time',
        page_size: PAGE_SIZE
      });
      if (mine === this._asked) {
        this._drawRuns(page);
      }
    } catch (error) {
      if (mine === this._asked) {
        this._say(String((error as Error).message || error), true);
      }
    }
  }

  private async _drawExperiments(): Promise<void> {
    const { experiments } = await get<{ experiments: IExperiment[] }>(
      'experiments'
    );
    const chosen = this._experiments.value;
    const options = experiments.map(e => new Option(e.name, e.name));
    this._experiments.replaceChildren(...options);
    const keep = experiments.some(e => e.name === chosen);
    // Newest experiment first time round: the one a notebook is most likely logging to.
    this._experiments.value = keep
      ? chosen
      : experiments.length
        ? experiments[experiments.length - 1].name
        : '';
  }

  private _drawRuns(page: IRunsPage): void {
    const wanted = this._options.metric();
    const metric = page.all_columns.includes(`metrics.${wanted}`)
      ? `metrics.${wanted}`
      : page.all_columns.find(c => c.startsWith('metrics.'));
    const shown = page.rows.length < page.total ? ` (newest ${page.rows.length})` : '';
    this._say(
      page.filter_error ||
        page.empty_message ||
        `${page.total} run${page.total === 1 ? '' : 's'}${shown}` +
          (metric ? ` · ${metric.slice('metrics.'.length)}` : ''),
      Boolean(page.filter_error)
    );
    this._list.replaceChildren(...page.rows.map(row => this._item(row, metric)));
  }

  private _item(row: IRunRow, metric: string | undefined): HTMLElement {
    const item = document.createElement('li');
    item.className = 'nbt-Sidebar-run';
    item.dataset.runId = row.run_id;
    item.title = `${row.run_name}: ${row.status}, started ${row.start_time}`;
    const status = document.createElement('span');
    status.className = `nbt-Status nbt-Status-${row.status.toLowerCase()}`;
    status.textContent = row.status;
    const name = document.createElement('span');
    name.className = 'nbt-Sidebar-name';
    name.textContent = row.run_name;
    const value = document.createElement('span');
    value.className = 'nbt-Sidebar-value';
    value.textContent = metric ? formatValue(row[metric]) : '';
    item.append(status, name, value);
    item.addEventListener('click', () =>
      this._options.openRun(row.run_id, row.run_name)
    );
    return item;
  }

  private _say(text: string, error = false): void {
    this._notes.textContent = text;
    this._notes.classList.toggle('nbt-Sidebar-error', error);
  }

  private async _follow(): Promise<void> {
    await this.refresh();
    while (!this._stopped) {
      try {
        const answer = await changes(this._version);
        if (answer.changed && this._version) {
          const wait = this._drawn + this._options.minRedrawMs() - Date.now();
          if (wait > 0) {
            await sleep(wait);
          }
          await this.refresh();
          this._drawn = Date.now();
        }
        this._version = answer.version;
      } catch {
        await sleep(2000);
      }
    }
  }
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(+value.toPrecision(4));
  }
  return String(value);
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
