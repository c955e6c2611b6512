/** Closes each part once the one before it has closed; absent parts are skipped. */
export async function closeInOrder(parts: Array<{ close(): unknown } | undefined>): Promise<void> {
  for (const part of parts) await part?.close();
}
