// nbtrack in JupyterLab (and Notebook 7 where it has the same areas): the Runs sidebar, run /
// compare / registry pages in the main area, cell badges, the status bar item, the commands.
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';

import { badgeCells } from './badges';
import { Pages } from './frames';
import { RunsSidebar } from './sidebar';
import { ActiveRunItem } from './status';
import iconSvg from '../style/icon.svg';

const PLUGIN_ID = 'nbtrack:plugin';
const runsIcon = new LabIcon({ name: 'nbtrack:runs', svgstr: iconSvg });

namespace CommandIDs {
  export const openRuns = 'nbtrack:open-runs';
  export const openRun = 'nbtrack:open-run';
  export const openRegistry = 'nbtrack:open-registry';
  export const openUi = 'nbtrack:open-ui';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'nbtrack: runs, their cells, the active run and the registry',
  autoStart: true,
  optional: [ICommandPalette, INotebookTracker, ISettingRegistry, IStatusBar],
  activate: async (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    settingRegistry: ISettingRegistry | null,
    statusBar: IStatusBar | null
  ) => {
    const pages = new Pages(app, notebooks);
    const options = { metric: '', refreshSeconds: 1 };
    const openRun = (runId: string, name: string) =>
      pages.open(`/runs/${runId}`, `Run ${name}`);

    const sidebar = new RunsSidebar({
      openRun,
      metric: () => options.metric,
      minRedrawMs: () => options.refreshSeconds * 1000
    });
    sidebar.title.icon = runsIcon;
    sidebar.addAction('Registry', () =>
      app.commands.execute(CommandIDs.openRegistry)
    );
    sidebar.addAction('nbtrack ui ↗', () =>
      app.commands.execute(CommandIDs.openUi)
    );
    app.shell.add(sidebar, 'left', { rank: 600 });

    app.commands.addCommand(CommandIDs.openRuns, {
      label: 'nbtrack: Open Runs',
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.openRun, {
      label: 'nbtrack: Open Run',
      execute: args => openRun(String(args.runId), String(args.name ?? args.runId))
    });
    app.commands.addCommand(CommandIDs.openRegistry, {
      label: 'nbtrack: Open Registry',
      execute: () => pages.open('/models', 'Registry')
    });
    app.commands.addCommand(CommandIDs.openUi, {
      label: 'nbtrack: Open nbtrack ui for This Store',
      execute: () => {
        const base = ServerConnection.makeSettings().baseUrl;
        window.open(URLExt.join(base, 'nbtrack/ui/'), '_blank', 'noopener');
      }
    });
    if (palette) {
      for (const command of [
        CommandIDs.openRuns,
        CommandIDs.openRegistry,
        CommandIDs.openUi
      ]) {
        palette.addItem({ command, category: 'nbtrack' });
      }
    }

    if (notebooks) {
      badgeCells(notebooks, openRun);
      if (statusBar) {
        const item = new ActiveRunItem(notebooks, openRun);
        statusBar.registerStatusItem('nbtrack:active-run', {
          item,
          align: 'left',
          rank: 5,
          isActive: () => true
        });
      }
    }

    if (settingRegistry) {
      const load = (settings: ISettingRegistry.ISettings) => {
        options.metric = String(settings.get('metric').composite ?? '');
        options.refreshSeconds = Number(
          settings.get('refreshSeconds').composite ?? 1
        );
        void sidebar.refresh();
      };
      try {
        const settings = await settingRegistry.load(PLUGIN_ID);
        load(settings);
        settings.changed.connect(load);
      } catch (error) {
        console.warn('nbtrack: settings not loaded', error);
      }
    }
  }
};

export default plugin;
