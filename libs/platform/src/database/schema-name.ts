/** Schema names are interpolated into SQL (identifiers cannot be bound), so only plain names pass. */
export function assertSchemaName(schema: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
}
