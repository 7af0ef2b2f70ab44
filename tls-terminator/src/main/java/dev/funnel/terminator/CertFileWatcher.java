package dev.funnel.terminator;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.file.FileProps;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * Notices when the PEM files behind {@code --cert/--key} change (a cheap, non-blocking mtime and
 * size check on a timer) and calls back once per change. Certificates given as values, not paths,
 * are never watched.
 */
final class CertFileWatcher {

  private final Vertx vertx;
  private final List<String> paths;
  private final Runnable onChange;
  private final long timerId;
  private List<String> last;
  private boolean checking;

  private CertFileWatcher(Vertx vertx, List<String> paths, long periodMillis, Runnable onChange) {
    this.vertx = vertx;
    this.paths = paths;
    this.onChange = onChange;
    this.timerId = vertx.setPeriodic(periodMillis, id -> check());
    snapshot().onSuccess(s -> last = s);
  }

  /** Watches the files of {@code pem}; returns null when it names no file. */
  static CertFileWatcher start(Vertx vertx, PemKeyCertOptions pem, long periodMillis, Runnable onChange) {
    List<String> paths = new ArrayList<>();
    paths.addAll(pem.getCertPaths());
    paths.addAll(pem.getKeyPaths());
    if (paths.isEmpty()) {
      return null;
    }
    return new CertFileWatcher(vertx, List.copyOf(paths), periodMillis, onChange);
  }

  void stop() {
    vertx.cancelTimer(timerId);
  }

  private void check() {
    if (checking) {
      return;
    }
    checking = true;
    snapshot().onComplete(ar -> {
      checking = false;
      if (ar.failed()) {
        // A file being replaced may be missing for a moment; look again next time.
        return;
      }
      List<String> now = ar.result();
      if (last != null && !now.equals(last)) {
        onChange.run();
      }
      last = now;
    });
  }

  private Future<List<String>> snapshot() {
    List<Future<FileProps>> props = new ArrayList<>();
    for (String path : paths) {
      props.add(vertx.fileSystem().props(path));
    }
    return Future.all(props).map(all -> {
      List<String> stamps = new ArrayList<>();
      for (Future<FileProps> p : props) {
        stamps.add(p.result().lastModifiedTime() + "/" + p.result().size());
      }
      return stamps;
    });
  }
}
