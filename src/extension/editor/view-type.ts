/**
 * The safetensors editor's view type: the provider registers under it and the commands open files with it.
 * package.json's `customEditors` entry must name the same string (test/vscode checks the manifest against it).
 */
export const SAFETENSORS_EDITOR_VIEW_TYPE = 'ziplora.safetensorsEditor';
