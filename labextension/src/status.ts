// The status bar item: the run the kernel of the notebook in front is running now (name,
// elapsed time, the latest value of its first metric); a click opens its page. Asked again
// when the store changes or another notebook comes to the front; the clock ticks locally.
import { INotebookTracker } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { changes, get } from './api';
import { formatValue, sleep } from './sidebar';

interface IActive {
  run_id: string;
  name: string;
  start: number;
  metric: string | null;
  value: number | null;
}

export class ActiveRunItem extends Widget {
  private _run: IActive | null = null;
  private _version = '';

  constructor(
    private _notebooks: INotebookTracker,
    private _openRun: (runId: string, name: string) => void
  ) {
    super();
    this.addClass('nbt-StatusItem');
    this.node.title = 'nbtrack: the run of this kernel; click to open it';
    this.node.addEventListener('click', () => {
      if (this._run) {
        this._openRun(this._run.run_id, this._run.name);
      }
    });
    _notebooks.currentChanged.connect(() => void this.refresh());
    setInterval(() => this._draw(), 1000);
    void this._follow();
  }

  async refresh(): Promise<void> {
    const kernel = this._notebooks.currentWidget?.sessionContext.session?.kernel?.id;
    if (!kernel) {
      this._run = null;
    } else {
      try {
        this._run = (await get<{ run: IActive | null }>('../lab/active', { kernel })).run;
      } catch {
        this._run = null;
      }
    }
    this._draw();
  }

  private _draw(): void {
    const run = this._run;
    this.node.classList.toggle('nbt-StatusItem-idle', !run);
    if (!run) {
      this.node.textContent = '';
      return;
    }
    const seconds = Math.max(0, Date.now() / 1000 - run.start);
    const metric = run.metric ? ` · ${run.metric} ${formatValue(run.value)}` : '';
    this.node.textContent = `● ${run.name} ${formatElapsed(seconds)}${metric}`;
  }

  private async _follow(): Promise<void> {
    for (;;) {
      try {
        const answer = await changes(this._version);
        if (answer.changed) {
          await this.refresh();
        }
        this._version = answer.version;
      } catch {
        await sleep(2000);
      }
    }
  }
}

function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
