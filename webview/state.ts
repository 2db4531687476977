/**
 * What the webview remembers across hide/show and reloads (vscode.setState): the active tab, each table's
 * filter, sort, selection and scroll, and the layer picked in each chart. Data is not kept: the host sends it
 * again, and the selections are re-requested when it arrives.
 */
import type { HostChannel } from './vscode-api.js';

export type TabId = 'overview' | 'metadata' | 'tensors' | 'lora' | 'ziplora' | 'compare';
export const TAB_IDS: readonly TabId[] = ['overview', 'metadata', 'tensors', 'lora', 'ziplora', 'compare'];

export type SortDirection = 'asc' | 'desc';
export interface SortState {
  readonly column: string;
  readonly direction: SortDirection;
}

export interface TableState {
  readonly filter: string;
  readonly sort: SortState | null;
  /** Key (tensor name, module) of the selected row. */
  readonly selected: string | null;
  readonly scrollTop: number;
}

export type LoraMetric = 'norm' | 'effectiveRank';

export interface PersistedState {
  readonly version: 1;
  readonly tab: TabId;
  readonly tensors: TableState;
  readonly loraLayers: TableState;
  readonly loraMetric: LoraMetric;
  /** Module whose coefficients the ZipLoRA tab shows. */
  readonly zipLoraLayer: string | null;
  /** Which metadata entries are unfolded. */
  readonly openMetadata: readonly string[];
  /** Vertical scroll of the page per tab. */
  readonly pageScroll: Readonly<Partial<Record<TabId, number>>>;
}

const EMPTY_TABLE: TableState = { filter: '', sort: null, selected: null, scrollTop: 0 };

export const INITIAL_STATE: PersistedState = {
  version: 1,
  tab: 'overview',
  tensors: EMPTY_TABLE,
  loraLayers: EMPTY_TABLE,
  loraMetric: 'norm',
  zipLoraLayer: null,
  openMetadata: [],
  pageScroll: {},
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const finiteOr = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

function tableState(value: unknown): TableState {
  if (!isRecord(value)) return EMPTY_TABLE;
  const { sort: savedSort } = value;
  const sort: SortState | null =
    isRecord(savedSort) && typeof savedSort.column === 'string' && (savedSort.direction === 'asc' || savedSort.direction === 'desc')
      ? { column: savedSort.column, direction: savedSort.direction }
      : null;
  return {
    filter: typeof value.filter === 'string' ? value.filter : '',
    sort,
    selected: stringOrNull(value.selected),
    scrollTop: Math.max(0, finiteOr(value.scrollTop, 0)),
  };
}

/** Accepts what an older version (or nothing) saved, keeping every field that is still well-formed. */
export function parsePersistedState(value: unknown): PersistedState {
  if (!isRecord(value) || value.version !== 1) return INITIAL_STATE;
  const pageScroll: Partial<Record<TabId, number>> = {};
  if (isRecord(value.pageScroll)) {
    for (const tab of TAB_IDS) {
      const top = value.pageScroll[tab];
      if (typeof top === 'number' && Number.isFinite(top)) pageScroll[tab] = Math.max(0, top);
    }
  }
  return {
    version: 1,
    tab: TAB_IDS.includes(value.tab as TabId) ? (value.tab as TabId) : 'overview',
    tensors: tableState(value.tensors),
    loraLayers: tableState(value.loraLayers),
    loraMetric: value.loraMetric === 'effectiveRank' ? 'effectiveRank' : 'norm',
    zipLoraLayer: stringOrNull(value.zipLoraLayer),
    openMetadata: Array.isArray(value.openMetadata) ? value.openMetadata.filter((k): k is string => typeof k === 'string') : [],
    pageScroll,
  };
}

/** Holds the state and saves every change; scroll positions, which change many times a second, are batched. */
export class StateStore {
  private current: PersistedState;
  private pendingSave: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly channel: HostChannel) {
    this.current = parsePersistedState(channel.loadState());
  }

  get value(): PersistedState {
    return this.current;
  }

  update(change: Partial<PersistedState>): void {
    this.current = { ...this.current, ...change };
    this.flush();
  }

  /** For scroll positions: saved at most every 150 ms, and always before the page goes away. */
  updateLater(change: Partial<PersistedState>): void {
    this.current = { ...this.current, ...change };
    this.pendingSave ??= setTimeout(() => this.flush(), 150);
  }

  flush(): void {
    if (this.pendingSave !== undefined) clearTimeout(this.pendingSave);
    this.pendingSave = undefined;
    this.channel.saveState(this.current);
  }
}
