// Drift: what SQL would take the live database to the schema? The CI check applies the migrations
// to an empty database first, so any difference means migrations and schema.prisma disagree.
import { NO_FILTER, type SessionOptions, withSchemaEngine } from './session.ts';

export interface DriftResult {
  drift: boolean;
  /** The SQL that would remove the drift (an "empty migration" comment when there is none). */
  script: string;
}

/** Exit code the engine returns (as `prisma migrate diff --exit-code`) when the diff is not empty. */
const DIFF_NOT_EMPTY = 2;

export async function checkDrift(opts: SessionOptions): Promise<DriftResult> {
  return withSchemaEngine(opts, async ({ engine, schema, configDir }) => {
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files: schema.files, configDir },
      to: { tag: 'schemaDatamodel', files: schema.files },
      script: true,
      exitCode: true,
      filters: NO_FILTER,
    });
    return { drift: result.exitCode === DIFF_NOT_EMPTY, script: result.stdout ?? '' };
  });
}
