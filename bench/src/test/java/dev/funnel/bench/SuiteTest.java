package dev.funnel.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SuiteTest {

  @Test
  void liveHeapSumsTheSerialCollectorsGenerations() {
    String serial = """
        12345:
         def new generation   total 6912K, used 219K [0x0000000687400000, 0x0000000687b70000, 0x0000000704d50000)
          eden space 6208K,   3% used [0x0000000687400000, 0x0000000687436c48, 0x0000000687a10000)
          from space 704K,   0% used [0x0000000687a10000, 0x0000000687a10000, 0x0000000687ac0000)
         tenured generation   total 15012K, used 12801K [0x0000000704d50000, 0x0000000705bf9000, 0x0000000800000000)
           the space 15012K,  85% used [0x0000000704d50000, 0x00000007059d0418, 0x00000007059d0600, 0x0000000705bf9000)
         Metaspace       used 26355K, committed 27008K, reserved 1114112K
          class space    used 3284K, committed 3520K, reserved 1048576K
        """;
    assertThat(IdleTunnels.heapUsedKib(serial)).isEqualTo(219 + 12801);
  }

  @Test
  void liveHeapOfG1IsItsOneHeap() {
    String g1 = """
        12345:
         garbage-first heap   total 1048576K, used 20480K [0x00000000c0000000, 0x0000000100000000)
          region size 1024K, 3 young (3072K), 0 survivors (0K)
         Metaspace       used 26355K, committed 27008K, reserved 1114112K
        """;
    assertThat(IdleTunnels.heapUsedKib(g1)).isEqualTo(20480);
  }
}
