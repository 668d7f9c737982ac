/**
 * Strings that would run a command if they reached a shell unquoted, and
 * other hostile input: every configuration field is tested with each.
 * MARKER is the file a successful injection would create.
 */
export function injectionPayloads(marker: string): string[] {
  return [
    `; touch ${marker}`,
    `lz4; touch ${marker}`,
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `lz4\ntouch ${marker}`,
    `lz4' ; touch ${marker}; '`,
    `lz4" ; touch ${marker}; "`,
    `lz4\0touch ${marker}`,
    `/dev/loop0; touch ${marker}`,
    `/dev/$(touch ${marker})`,
    `/dev/../../tmp/x`,
    `2G\ntouch ${marker}`,
    `| touch ${marker}`,
    `&& touch ${marker}`,
    `> ${marker}`,
    'x'.repeat(100_000),
  ];
}
