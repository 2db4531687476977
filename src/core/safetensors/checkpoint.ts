/**
 * One view over a single .safetensors file or a sharded checkpoint (`*.safetensors.index.json`, the
 * Hugging Face layout: `{"metadata": {...}, "weight_map": {tensor: shard file}}`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { asFileError, SafetensorsError } from './errors';
import { TensorInfo } from './header';
import { SafetensorsFile } from './reader';

export interface CheckpointTensor {
  readonly info: TensorInfo;
  readonly file: SafetensorsFile;
}

export interface Checkpoint {
  readonly path: string;
  readonly sharded: boolean;
  /** Total bytes of all files. */
  readonly bytes: number;
  /** Total header bytes of all files. */
  readonly headerBytes: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly files: readonly SafetensorsFile[];
  readonly tensors: readonly CheckpointTensor[];
  close(): Promise<void>;
}

export function isShardIndex(file: string): boolean {
  return file.endsWith('.safetensors.index.json');
}

function fromFile(file: SafetensorsFile): Checkpoint {
  const infos = file.tensors;
  const tensors: CheckpointTensor[] = new Array(infos.length);
  for (let i = 0; i < infos.length; i++) tensors[i] = { info: infos[i], file };
  return {
    path: file.path,
    sharded: false,
    bytes: file.fileBytes,
    headerBytes: file.header.headerBytes,
    metadata: file.metadata,
    files: [file],
    tensors,
    close: () => file.close(),
  };
}

interface ShardIndex {
  metadata: Record<string, string>;
  weightMap: Map<string, string>;
}

async function readShardIndex(indexPath: string): Promise<ShardIndex> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(indexPath, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new SafetensorsError(indexPath, `the shard index is not valid JSON (${error.message})`);
    throw asFileError(error, indexPath);
  }
  const { weight_map: weightMap, metadata } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new SafetensorsError(indexPath, 'the shard index has no "weight_map" object', 'it should map each tensor name to its shard file');
  }
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
      throw new SafetensorsError(indexPath, `the shard index maps "${name}" to ${JSON.stringify(shard)}, not to a file name beside the index`);
    }
    map.set(name, shard);
  }
  // Index metadata holds numbers such as total_size; show them as text like file metadata.
  const asText: Record<string, string> = {};
  if (metadata && typeof metadata === 'object') {
    for (const [key, value] of Object.entries(metadata)) asText[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { metadata: asText, weightMap: map };
}

async function openSharded(indexPath: string): Promise<Checkpoint> {
  const index = await readShardIndex(indexPath);
  const folder = path.dirname(indexPath);
  const files = new Map<string, SafetensorsFile>();
  const closeAll = () => Promise.all([...files.values()].map((f) => f.close())).then(() => undefined);
  try {
    for (const shard of new Set(index.weightMap.values())) {
      files.set(shard, await SafetensorsFile.open(path.join(folder, shard)));
    }
    const tensors: CheckpointTensor[] = [];
    for (const [name, shard] of index.weightMap) {
      const file = files.get(shard)!;
      if (!file.has(name)) {
        throw new SafetensorsError(indexPath, `the shard index puts "${name}" in ${shard}, but that shard has no such tensor`, 'the shards and the index are from different versions');
      }
      tensors.push({ info: file.tensor(name), file });
    }
    const shards = [...files.values()];
    return {
      path: indexPath,
      sharded: true,
      bytes: shards.reduce((sum, f) => sum + f.fileBytes, 0),
      headerBytes: shards.reduce((sum, f) => sum + f.header.headerBytes, 0),
      metadata: index.metadata,
      files: shards,
      tensors,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Opens a .safetensors file or a sharded checkpoint's index. */
export async function openCheckpoint(file: string): Promise<Checkpoint> {
  if (isShardIndex(file)) return openSharded(file);
  return fromFile(await SafetensorsFile.open(file));
}
