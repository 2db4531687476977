/**
 * Completion of block names in a recipe's `blocks[i].block`: the schema cannot know them, the inputs do. Pure:
 * where the cursor is and what to offer; the editor (src/extension/recipe-completion.ts) reads the inputs.
 */
import { getLocation, Node } from 'jsonc-parser';
import { inNetworkOrder } from '../lora/network-blocks';

export interface BlockCompletionSite {
  /** The span the chosen name replaces: the string's text inside its quotes, or nothing where no string is yet. */
  readonly offset: number;
  readonly length: number;
  /** Whether the name must be written with its quotes (the cursor is not inside a string). */
  readonly quote: boolean;
}

/** Where a block name is being typed at `offset`, or undefined when the cursor is anywhere else. */
export function blockCompletionSite(text: string, offset: number): BlockCompletionSite | undefined {
  const location = getLocation(text, offset);
  const [key, , field] = location.path;
  if (key !== 'blocks' || field !== 'block' || location.path.length !== 3 || location.isAtPropertyKey) return undefined;
  const node: Node | undefined = location.previousNode;
  if (node?.type === 'string' && offset > node.offset && offset <= node.offset + node.length) {
    // Inside the quotes (an unclosed string has no closing quote to keep).
    const closed = text[node.offset + node.length - 1] === '"' && node.length > 1;
    return { offset: node.offset + 1, length: node.length - (closed ? 2 : 1), quote: false };
  }
  return { offset, length: 0, quote: true };
}

export interface BlockSuggestion {
  readonly name: string;
  /** How many of the known blocks the name matches (1 for a block, more for a container used as a prefix). */
  readonly blocks: number;
}

/** The blocks in network order, then the containers (prefixes) that group two or more of them. */
export function blockSuggestions(blockNames: Iterable<string>): BlockSuggestion[] {
  const blocks = inNetworkOrder([...new Set(blockNames)], (name) => name);
  const containers = new Map<string, number>();
  for (const name of blocks) {
    const segments = name.split('.');
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join('.');
      containers.set(prefix, (containers.get(prefix) ?? 0) + 1);
    }
  }
  const known = new Set(blocks);
  const groups = [...containers].filter(([prefix, count]) => count > 1 && !known.has(prefix)).map(([name, count]) => ({ name, blocks: count }));
  return [...blocks.map((name) => ({ name, blocks: 1 })), ...groups];
}
