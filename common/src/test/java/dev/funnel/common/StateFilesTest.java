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
  void aTemporaryFileACrashLeftGoesAtTheNextWriteAndOneUnderWayStays() throws Exception {
    Path file = dir.resolve("node-key.pem");
    Path crashed = Files.writeString(dir.resolve("node-key.pem.1f2e3d4c5b6a7988.tmp"), "half a key");
    Files.setLastModifiedTime(crashed, java.nio.file.attribute.FileTime.from(
        java.time.Instant.now().minus(StateFiles.STALE_AFTER).minusSeconds(1)));
    Path underWay = Files.writeString(dir.resolve("node-key.pem.abc.tmp"), "being written");
    Path otherFiles = Files.writeString(dir.resolve("acme-key.pem.1f2e3d4c5b6a7988.tmp"), "not ours");
    Files.setLastModifiedTime(otherFiles, Files.getLastModifiedTime(crashed));
    Path notATemporary = Files.writeString(dir.resolve("node-key.pem.backup.tmp"), "the user's");
    Files.setLastModifiedTime(notATemporary, Files.getLastModifiedTime(crashed));
    StateFiles.writePrivate(file, "key");
    assertThat(crashed).doesNotExist();
    assertThat(underWay).exists();
    assertThat(otherFiles).exists();
    assertThat(notATemporary).exists();
  }

  @Test
  void aFailureNamesTheFile() throws Exception {
    Path notADirectory = Files.writeString(dir.resolve("file"), "x");
    assertThatThrownBy(() -> StateFiles.writePrivate(notADirectory.resolve("key"), "k"))
        .isInstanceOf(UncheckedIOException.class).hasMessageContaining("cannot write " + notADirectory.resolve("key"));
  }

  @Test
  void aStateDirectoryItCreatesIsItsOwnersAloneAndAnExistingOneKeepsItsMode() throws Exception {
    Path state = dir.resolve("parent/state");
    StateFiles.createDirectory(state);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state))).isEqualTo("rwx------");
    StateFiles.createDirectory(state);

    Path chosen = Files.createDirectory(dir.resolve("chosen"));
    Files.setPosixFilePermissions(chosen, PosixFilePermissions.fromString("rwxr-x---"));
    StateFiles.createDirectory(chosen);
    StateFiles.writePrivate(chosen.resolve("key.pem"), "k");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(chosen))).isEqualTo("rwxr-x---");

    StateFiles.writePublic(dir.resolve("fresh/ca.pem"), "c");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("fresh")))).isEqualTo("rwx------");
    Files.writeString(dir.resolve("file"), "x");
    assertThatThrownBy(() -> StateFiles.createDirectory(dir.resolve("file")))
        .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
  }
}
