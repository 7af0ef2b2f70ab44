package dev.funnel.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateFilesTest {

  @TempDir
  Path dir;

  @Test
  void aPrivateFileIsTheOwnersAloneAndHoldsExactlyTheContent() throws Exception {
    Path file = dir.resolve("state/node.key");
    StateFiles.writePrivate(file, "secret é");
    assertThat(Files.readString(file)).isEqualTo("secret é");
    assertThat(Files.getPosixFilePermissions(file)).isEqualTo(StateFiles.OWNER_ONLY);
    assertThat(Files.list(file.getParent())).containsExactly(file);
  }

  @Test
  void aPublicFileKeepsTheDefaultPermissions() throws Exception {
    Path file = dir.resolve("node.crt");
    StateFiles.writePublic(file, "cert");
    Path plain = Files.createFile(dir.resolve("plain"));
    assertThat(Files.getPosixFilePermissions(file)).isEqualTo(Files.getPosixFilePermissions(plain));
  }

  @Test
  void aWriteReplacesTheFileWholeAndTightensIt() throws Exception {
    Path file = dir.resolve("control-token");
    Files.writeString(file, "an old and longer token");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    StateFiles.writePrivate(file, "new");
    assertThat(Files.readString(file)).isEqualTo("new");
    assertThat(Files.getPosixFilePermissions(file)).isEqualTo(StateFiles.OWNER_ONLY);
  }

  @Test
  void concurrentWritersLeaveOneWholeFileAndNoTemporaryOne() throws Exception {
    Path file = dir.resolve("admin-url");
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> writers = new ArrayList<>();
    List<Throwable> failures = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String content = String.valueOf(i).repeat(10_000);
      Thread t = new Thread(() -> {
        try {
          go.await();
          for (int round = 0; round < 50; round++) {
            StateFiles.writePrivate(file, content);
          }
        } catch (Throwable e) {
          synchronized (failures) {
            failures.add(e);
          }
        }
      });
      t.start();
      writers.add(t);
    }
    go.countDown();
    for (Thread t : writers) {
      t.join();
    }
    assertThat(failures).isEmpty();
    String last = Files.readString(file);
    assertThat(last).hasSize(10_000).matches(c -> c.chars().distinct().count() == 1, "one writer's content");
    assertThat(Files.list(dir)).containsExactly(file);
  }

  @Test
  void aFailureNamesTheFile() throws Exception {
    Path notADirectory = Files.writeString(dir.resolve("file"), "x");
    assertThatThrownBy(() -> StateFiles.writePrivate(notADirectory.resolve("key"), "k"))
        .isInstanceOf(UncheckedIOException.class).hasMessageContaining("cannot write " + notADirectory.resolve("key"));
  }
}
