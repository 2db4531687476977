/** The tool's version, from package.json (bundled in, so it is right in every process). */
import packageJson from '../../package.json';

export const TOOL_VERSION: string = packageJson.version;
