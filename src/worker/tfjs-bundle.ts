/** The entry of dist/tfjs.js: tfjs core and its backends, one engine, loaded by the other bundles at run time. */
export * from '../core/merge/tfjs-runtime';
