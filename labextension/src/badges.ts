// A badge on each cell whose last execution was a %%track run: its status and run name, read
// from the metadata %%track puts on its summary output; a click opens the run's page.
import { Cell, CodeCell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

const BADGE_CLASS = 'nbt-CellBadge';

interface ITrackedRun {
  run_id: string;
  name: string;
  status: string;
}

export function badgeCells(
  notebooks: INotebookTracker,
  openRun: (runId: string, name: string) => void
): void {
  notebooks.widgetAdded.connect((_, panel) => watch(panel, openRun));
}

function watch(
  panel: NotebookPanel,
  openRun: (runId: string, name: string) => void
): void {
  let queued = false;
  const update = () => {
    if (queued) {
      return;
    }
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      for (const cell of panel.content.widgets) {
        draw(cell, openRun);
      }
    });
  };
  panel.content.modelContentChanged.connect(update);
  void panel.revealed.then(update);
}

function trackedRun(cell: Cell): ITrackedRun | null {
  if (!(cell instanceof CodeCell)) {
    return null;
  }
  const outputs = cell.model.outputs;
  for (let i = outputs.length - 1; i >= 0; i--) {
    const about = outputs.get(i).metadata?.nbtrack as ITrackedRun | undefined;
    if (about && typeof about.run_id === 'string') {
      return about;
    }
  }
  return null;
}

function draw(cell: Cell, openRun: (runId: string, name: string) => void): void {
  const run = trackedRun(cell);
  const existing = cell.node.querySelector<HTMLElement>(`.${BADGE_CLASS}`);
  if (!run) {
    existing?.remove();
    return;
  }
  if (existing?.dataset.runId === run.run_id && existing.dataset.status === run.status) {
    return;
  }
  const badge = document.createElement('button');
  badge.className = `${BADGE_CLASS} nbt-Status-${run.status.toLowerCase()}`;
  badge.dataset.runId = run.run_id;
  badge.dataset.status = run.status;
  badge.title = `nbtrack run ${run.name} (${run.status}): open its page`;
  badge.textContent = `${run.status.toLowerCase()} · ${run.name}`;
  badge.addEventListener('click', event => {
    event.stopPropagation();
    openRun(run.run_id, run.name);
  });
  // On the outputs, not the input: the active cell's toolbar sits at the input's top right.
  const anchor = cell.node.querySelector('.jp-Cell-outputWrapper') ?? cell.node;
  existing?.remove();
  anchor.append(badge);
}
