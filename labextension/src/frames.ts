// The run, compare and registry pages of nbtrack ui, shown in the main area: the same page
// files, served by the server extension in the lab's origin, in a frame. The pages ask the
// lab for what only it can do (open a notebook at a cell, insert a cell) with postMessage.
import { JupyterFrontEnd } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { pageUrl } from './api';

const FRAME_CLASS = 'nbt-PageFrame';

export class PageWidget extends Widget {
  readonly frame: HTMLIFrameElement;

  constructor(hash: string) {
    super();
    this.addClass('nbt-Page');
    this.frame = document.createElement('iframe');
    this.frame.className = FRAME_CLASS;
    this.frame.src = pageUrl(hash);
    this.node.appendChild(this.frame);
  }

  navigate(hash: string): void {
    this.frame.src = pageUrl(hash);
  }
}

export class Pages {
  private _open = new Map<string, MainAreaWidget<PageWidget>>();

  constructor(
    private _app: JupyterFrontEnd,
    private _notebooks: INotebookTracker | null
  ) {
    window.addEventListener('message', event => this._onMessage(event));
  }

  /** Opens (or brings forward) the page at `hash`, e.g. `/runs/<id>` or `/models`. */
  open(hash: string, title: string): MainAreaWidget<PageWidget> {
    const key = hash.split('?')[0];
    let widget = this._open.get(key);
    if (!widget || widget.isDisposed) {
      widget = new MainAreaWidget({ content: new PageWidget(hash) });
      widget.id = `nbtrack-page-${this._open.size}-${Date.now()}`;
      widget.title.label = title;
      widget.title.closable = true;
      this._open.set(key, widget);
      this._app.shell.add(widget, 'main');
    } else {
      widget.content.navigate(hash);
    }
    this._app.shell.activateById(widget.id);
    return widget;
  }

  private _fromOurFrame(event: MessageEvent): boolean {
    if (event.origin !== window.location.origin) {
      return false;
    }
    const frames = document.querySelectorAll<HTMLIFrameElement>(
      `iframe.${FRAME_CLASS}`
    );
    return [...frames].some(frame => frame.contentWindow === event.source);
  }

  private async _onMessage(event: MessageEvent): Promise<void> {
    const message = event.data?.nbtrack;
    if (!message || !this._fromOurFrame(event)) {
      return;
    }
    if (message.action === 'open-cell') {
      await this._openCell(String(message.path), String(message.cell_id));
    } else if (message.action === 'insert-code') {
      this._insertCode(String(message.code));
    }
  }

  private async _openCell(path: string, cellId: string): Promise<void> {
    const opened = (await this._app.commands.execute('docmanager:open', {
      path: relativeToRoot(path)
    })) as { content?: { widgets?: ReadonlyArray<any>; activeCellIndex?: number } };
    const notebook = opened?.content;
    if (!notebook || !notebook.widgets) {
      return;
    }
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index >= 0) {
      notebook.activeCellIndex = index;
      notebook.widgets[index].node.scrollIntoView({ block: 'center' });
    }
  }

  private _insertCode(code: string): void {
    const panel = this._notebooks?.currentWidget;
    if (!panel) {
      return;
    }
    const notebook = panel.content;
    NotebookActions.insertBelow(notebook);
    const cell = notebook.activeCell;
    if (cell) {
      cell.model.sharedModel.setSource(code);
    }
    this._app.shell.activateById(panel.id);
  }
}

// Kernels record the notebook's path as jupyter_server gives it: absolute in recent versions.
function relativeToRoot(path: string): string {
  const root = PageConfig.getOption('serverRoot').replace(/\/+$/, '');
  if (root && path.startsWith(`${root}/`)) {
    return path.slice(root.length + 1);
  }
  return path;
}
