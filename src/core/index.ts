export * from './errors.js';
export * from './time.js';
export * from './frame.js';
export * from './packet.js';
export * from './compressed-image.js';
export * from './output-file.js';
export * from './input-file.js';
