// Every request the extension makes: the read API of nbtrack's server extension, below the
// server's base URL, with Jupyter's own credentials (token, XSRF) added by ServerConnection.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IRunRow {
  run_id: string;
  run_name: string;
  status: string;
  start_time: string;
  [column: string]: unknown;
}

export interface IRunsPage {
  total: number;
  page: number;
  pages: number;
  columns: string[];
  all_columns: string[];
  rows: IRunRow[];
  filter_error: string | null;
  empty_message: string | null;
}

export interface IExperiment {
  id: string;
  name: string;
}

export interface IActiveRun {
  run_id: string;
  name: string;
  start_time: string;
  elapsed_s: number;
  metric: string | null;
  value: unknown;
}

const settings = ServerConnection.makeSettings();

export function apiUrl(path: string, query: Record<string, string> = {}): string {
  const url = URLExt.join(settings.baseUrl, 'nbtrack/api', path);
  const search = new URLSearchParams(
    Object.entries(query).filter(([, value]) => value !== '')
  ).toString();
  return search ? `${url}?${search}` : url;
}

export function pageUrl(hash: string): string {
  return `${URLExt.join(settings.baseUrl, 'nbtrack/ui/')}#${hash}`;
}

export async function get<T>(
  path: string,
  query: Record<string, string> = {}
): Promise<T> {
  const response = await ServerConnection.makeRequest(
    apiUrl(path, query),
    {},
    settings
  );
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error || data.message || `${response.status}`);
  }
  return data as T;
}

// Resolves when the store's version is not `since` (the server stats marker files; after
// about 25 s it answers unchanged). Nothing reads the database until a change is seen.
export function changes(
  since: string
): Promise<{ version: string; changed: boolean }> {
  return get('changes', { since });
}
