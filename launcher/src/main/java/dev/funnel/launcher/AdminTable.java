package dev.funnel.launcher;

import io.vertx.core.json.JsonArray;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** A table for people: a header row and left-aligned columns two spaces apart. */
final class AdminTable {

  private final List<String[]> rows = new ArrayList<>();

  AdminTable(String... header) {
    rows.add(header);
  }

  AdminTable row(Object... cells) {
    if (cells.length != rows.get(0).length) {
      throw new IllegalArgumentException("expected " + rows.get(0).length + " cells, got " + cells.length);
    }
    String[] row = new String[cells.length];
    for (int i = 0; i < cells.length; i++) {
      row[i] = cells[i] == null ? "-" : cells[i].toString();
    }
    rows.add(row);
    return this;
  }

  void print(PrintWriter out) {
    int[] widths = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], row[i].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        line.append(row[i]);
        if (i < row.length - 1) {
          line.append(" ".repeat(widths[i] - row[i].length() + 2));
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }

  /** An API timestamp to the second ({@code 2026-11-21T09:30:00Z}); {@code absent} when null. */
  static String time(String iso, String absent) {
    if (iso == null) {
      return absent;
    }
    try {
      return Instant.parse(iso).truncatedTo(ChronoUnit.SECONDS).toString();
    } catch (DateTimeParseException e) {
      return iso;
    }
  }

  /** {@code [443,8443]} as {@code 443,8443}; {@code -} when empty. */
  static String list(JsonArray values) {
    if (values == null || values.isEmpty()) {
      return "-";
    }
    return values.stream().map(String::valueOf).collect(Collectors.joining(","));
  }
}
