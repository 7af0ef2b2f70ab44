package dev.funnel.terminator;

import dev.funnel.common.ops.LogLimit;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.FileSystemAccess;
import io.vertx.ext.web.handler.StaticHandler;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;

/**
 * A {@code file:///DIR} route: Vert.x Web's {@link StaticHandler} serves the files (content types,
 * {@code Range} → {@code 206}, {@code index.html}, directory listing only when the target asks with
 * {@code ?listing}; hidden files never), after a check of its own that StaticHandler does not make:
 *
 * <ul>
 *   <li><b>never outside the root, symlinks included.</b> StaticHandler removes dot segments (also
 *       encoded ones) but follows symlinks; here the file's real path (every link resolved) must lie
 *       under the root's real path, or the answer is {@code 404};</li>
 *   <li><b>ETag and conditional GET.</b> StaticHandler sends no ETag and, with its cache off (its
 *       cache sends {@code Cache-Control: immutable} for a day and does not see changed files),
 *       answers no conditional request. Here a strong ETag (size and modification time) and
 *       {@code Last-Modified} are set, {@code If-None-Match} / {@code If-Modified-Since} answered
 *       {@code 304}, and {@code Cache-Control: no-cache} lets clients revalidate cheaply.</li>
 * </ul>
 *
 * The real-path check runs on a worker thread (it touches the file system). The prefix of the route
 * is replaced by the directory: {@code 443:/static=file:///srv/site} serves {@code /static/a.css}
 * from {@code /srv/site/a.css}.
 */
final class FileTarget implements Handler<RoutingContext> {

  private static final System.Logger LOG = System.getLogger(FileTarget.class.getName());
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME;

  private final int publicPort;
  private final Path root;
  private final LogLimit refusals;

  private FileTarget(int publicPort, Path root, LogLimit refusals) {
    this.publicPort = publicPort;
    this.root = root;
    this.refusals = refusals;
  }

  /** The handlers of a file route: this check, StaticHandler, and a terminal {@code 404} (nothing falls through to a shorter route). */
  static List<Handler<RoutingContext>> handlers(int publicPort, ServeTarget target, LogLimit refusals) {
    Path root = Path.of(target.path());
    StaticHandler files = StaticHandler.create(FileSystemAccess.ROOT, root.toString())
        .setCachingEnabled(false)
        .setIncludeHidden(false)
        .setDirectoryListing(ServeTarget.LISTING.equals(target.value()))
        .setFilesReadOnly(false);
    return List.of(new FileTarget(publicPort, root, refusals), files, FileTarget::notFound);
  }

  static void notFound(RoutingContext ctx) {
    HttpForwarder.plain(ctx.response(), 404, "404 Not Found\n");
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (request.method() != HttpMethod.GET && request.method() != HttpMethod.HEAD) {
      ctx.response().putHeader(HttpHeaders.ALLOW, "GET, HEAD");
      HttpForwarder.plain(ctx.response(), 405, "405 Method Not Allowed: this path serves files.\n");
      return;
    }
    Optional<Path> candidate = candidate(root, ctx.pathParam("*"));
    if (candidate.isEmpty()) {
      refusals.log(LOG, Level.INFO, "refusals", () -> "port " + publicPort + ": path " + request.path()
          + " does not name a file under the root; answering 404");
      notFound(ctx);
      return;
    }
    Vertx vertx = ctx.vertx();
    vertx.executeBlocking(() -> inspect(root, candidate.get()), false).onComplete(ar -> {
      if (ar.failed()) {
        refusals.log(LOG, Level.WARNING, "refusals", () -> "port " + publicPort + ": cannot read " + candidate.get()
            + ": " + ar.cause());
        notFound(ctx);
        return;
      }
      Found found = ar.result();
      if (found == null) {
        notFound(ctx);
        return;
      }
      if (found.outside()) {
        refusals.log(LOG, Level.INFO, "refusals", () -> "port " + publicPort + ": " + request.path() + " leads outside "
            + root + " (a link); answering 404");
        notFound(ctx);
        return;
      }
      if (found.attributes().isRegularFile()) {
        HttpServerResponse response = ctx.response();
        String etag = etag(found.attributes());
        Instant modified = found.attributes().lastModifiedTime().toInstant();
        response.putHeader(HttpHeaders.ETAG, etag)
            .putHeader(HttpHeaders.LAST_MODIFIED, HTTP_DATE.format(ZonedDateTime.ofInstant(modified, ZoneOffset.UTC)))
            .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
        if (notModified(request.getHeader(HttpHeaders.IF_NONE_MATCH), request.getHeader(HttpHeaders.IF_MODIFIED_SINCE),
            etag, modified)) {
          response.setStatusCode(304).end();
          return;
        }
      }
      ctx.next();
    });
  }

  /** What the worker found: null when nothing is there. */
  private record Found(boolean outside, BasicFileAttributes attributes) {
  }

  private static Found inspect(Path root, Path candidate) throws IOException {
    Path real;
    try {
      real = candidate.toRealPath();
    } catch (NoSuchFileException e) {
      return null;
    }
    if (!real.startsWith(root.toRealPath())) {
      return new Found(true, null);
    }
    return new Found(false, Files.readAttributes(real, BasicFileAttributes.class));
  }

  /**
   * The file a request's path below the route names, as StaticHandler will open it (root, then the
   * rest with dot segments removed); empty when the rest holds a NUL or backslash, a hidden segment,
   * or would leave the root. Pure.
   *
   * @param rest the decoded path below the route's prefix (Vert.x Web's {@code *} path parameter)
   */
  static Optional<Path> candidate(Path root, String rest) {
    String r = rest == null || rest.isEmpty() ? "/" : rest;
    if (r.indexOf('\0') >= 0 || r.indexOf('\\') >= 0) {
      return Optional.empty();
    }
    Path relative = Path.of(r.startsWith("/") ? r.substring(1) : r).normalize();
    for (Path segment : relative) {
      String s = segment.toString();
      if (s.equals("..") || (s.startsWith(".") && !s.equals("."))) {
        return Optional.empty();
      }
    }
    Path file = root.resolve(relative).normalize();
    return file.startsWith(root) ? Optional.of(file) : Optional.empty();
  }

  /** A strong validator: size and modification time (nanoseconds), in hex, as nginx does. */
  static String etag(BasicFileAttributes attributes) {
    Instant t = attributes.lastModifiedTime().toInstant();
    long nanos = t.getEpochSecond() * 1_000_000_000L + t.getNano();
    return "\"" + Long.toHexString(attributes.size()) + "-" + Long.toHexString(nanos) + "\"";
  }

  /** RFC 9110 13.1.2/13.1.3: If-None-Match wins over If-Modified-Since; weak comparison for If-None-Match. Pure. */
  static boolean notModified(String ifNoneMatch, String ifModifiedSince, String etag, Instant modified) {
    if (ifNoneMatch != null) {
      for (String tag : ifNoneMatch.split(",")) {
        String t = tag.trim();
        if (t.startsWith("W/")) {
          t = t.substring(2);
        }
        if (t.equals("*") || t.equals(etag)) {
          return true;
        }
      }
      return false;
    }
    if (ifModifiedSince != null) {
      try {
        Instant since = ZonedDateTime.parse(ifModifiedSince.trim(), HTTP_DATE).toInstant();
        return modified.getEpochSecond() <= since.getEpochSecond();
      } catch (DateTimeParseException e) {
        return false;
      }
    }
    return false;
  }
}
