package dev.funnel.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Large uploads through an HTTPS path, with curl as the client (a browser or a script would use it
 * or its library): the same file over HTTP/1.1 and over HTTP/2, alternating, each timed by curl
 * ({@code time_total}). HTTP/2 has per-stream flow control that HTTP/1.1 has not, so a window too
 * small for the path's round trip shows here as HTTP/2 taking longer than HTTP/1.1.
 */
final class Upload {

  /** The figure: a 200 MB upload. */
  static final long BYTES = 200_000_000L;

  private Upload() {
  }

  /**
   * The result of one path: best time per version, every run, and the ratio HTTP/2 ÷ HTTP/1.1. With
   * {@code warm}, one upload over each version goes first and is not counted: the path's JVMs have
   * compiled their HTTP/1.1 GET path in the HTTPS runs, but not yet the HTTP/2 codec's DATA frames.
   */
  static JsonObject measure(Ingress path, Path caPem, Path dir, int reps, boolean warm) throws IOException {
    Path file = dir.resolve("upload-" + BYTES + ".bin");
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(BYTES); // sparse: no disk written, reads as zeros from the page cache
    }
    try {
      if (warm) {
        Suite.log(path, "upload of " + BYTES / 1_000_000 + " MB with curl over HTTP/1.1 and HTTP/2, not counted"
            + " (JIT compilers settle)");
        once(path, caPem, file, "1.1");
        once(path, caPem, file, "2");
      }
      List<Double> h1 = new ArrayList<>();
      List<Double> h2 = new ArrayList<>();
      for (int rep = 0; rep < reps; rep++) {
        Suite.log(path, "upload of " + BYTES / 1_000_000 + " MB with curl, HTTP/1.1 then HTTP/2 (" + (rep + 1)
            + " of " + reps + ")");
        h1.add(once(path, caPem, file, "1.1"));
        h2.add(once(path, caPem, file, "2"));
      }
      double best1 = h1.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
      double best2 = h2.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
      return new JsonObject()
          .put("bytes", BYTES)
          .put("http1_seconds", Stats.round(best1, 3))
          .put("http2_seconds", Stats.round(best2, 3))
          .put("http2_over_http1", Stats.shownRatio(best2, best1))
          .put("http1_runs", new JsonArray(h1.stream().map(s -> Stats.round(s, 3)).toList()))
          .put("http2_runs", new JsonArray(h2.stream().map(s -> Stats.round(s, 3)).toList()));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /** {@link #measure}, or a {@code note} saying why it failed (so no {@code http2_over_http1}). */
  static JsonObject measureOrNote(Ingress path, Path caPem, Path dir, int reps, boolean warm) {
    try {
      return measure(path, caPem, dir, reps, warm);
    } catch (IOException e) {
      System.err.println("bench: " + path.name() + " upload failed: " + e.getMessage());
      return new JsonObject().put("note", "failed: " + e.getMessage());
    }
  }

  /** Seconds for one upload; an error, a short upload or the wrong protocol is an exception. */
  private static double once(Ingress path, Path caPem, Path file, String version) throws IOException {
    String url = "https://" + path.serverName() + ":" + path.port() + "/upload";
    String out = Child.run(List.of("curl", "-sS", "--fail", "--http" + version, "--max-time", "300",
        "--cacert", caPem.toString(), "--resolve", path.serverName() + ":" + path.port() + ":127.0.0.1",
        "-T", file.toString(), "-o", "/dev/null", "-w", "%{http_version} %{size_upload} %{time_total}", url),
        Map.of(), 330_000);
    return parse(out.trim(), version);
  }

  /** curl's {@code -w "%{http_version} %{size_upload} %{time_total}"} line → seconds, checked. */
  static double parse(String line, String version) throws IOException {
    String[] f = line.split(" ");
    try {
      if (f.length == 3 && f[0].equals(version) && Long.parseLong(f[1]) == BYTES) {
        return Double.parseDouble(f[2]);
      }
    } catch (NumberFormatException e) {
      // fall through: not curl's line
    }
    throw new IOException("upload over HTTP/" + version + " did not complete: curl said '" + line + "'");
  }
}
