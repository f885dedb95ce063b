// Copies what tsc does not emit (SQL migrations, the web UI) next to the compiled code.
import { cpSync } from 'node:fs';

cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
cpSync('src/dashboard/public', 'dist/dashboard/public', { recursive: true });
