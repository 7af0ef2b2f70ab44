package dev.funnel.launcher;

import picocli.CommandLine.Option;

/**
 * {@code --log-format} and {@code --debug}, on every long-running command. {@link Logging} reads
 * them from the raw arguments before picocli runs (so the first lines already follow them); the
 * fields here document and accept them.
 */
final class LogFlags {

  @Option(names = "--log-format", paramLabel = "text|json",
      description = "Log lines as text (default) or one JSON object per line: time, level, logger, message.")
  String logFormat;

  @Option(names = "--debug", description = "Log DEBUG lines too, and stack traces with errors.")
  boolean debug;
}
