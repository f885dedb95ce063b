export {
  createIngest,
  type Ingest,
  type IngestOptions,
  type ReadingsListener,
  type ReplayOutcome,
} from './ingest.js';
export { createDecoder, type Decoder, type Reading, type Rejection } from './decode.js';
export { createBatchWriter, type Ack, type BatchWriter } from './batch-writer.js';
export { createSpool, type Spool } from './spool.js';
export { createRollupAccumulator, type RollupAccumulator } from './rollups.js';
export { createReadingWatch, type ReadingWatch, type WatchedReading } from './watch.js';
