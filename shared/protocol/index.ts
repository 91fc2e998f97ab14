export * from './messages';
export * from './codec';
export * from './fragments';
export * from './close-codes';
export * from './join-auth';
