package dev.funnel.common.bus;

import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Registers a codec for every {@link BusMessage}; call once, where the {@code Vertx} is built. */
public final class Messages {

  private Messages() {
  }

  public static void registerCodecs(EventBus bus) {
    register(bus, ResolveRequest.class, ResolveRequest::fromJson);
    register(bus, Route.class, Route::fromJson);
    register(bus, NodeLogin.class, NodeLogin::fromJson);
    register(bus, NodeSession.class, NodeSession::fromJson);
    register(bus, LeaseRenewal.class, LeaseRenewal::fromJson);
    register(bus, LeaseRenewal.Ack.class, LeaseRenewal.Ack::fromJson);
    register(bus, SessionClosed.class, SessionClosed::fromJson);
    register(bus, SessionLossReport.class, SessionLossReport::fromJson);
    register(bus, SessionWithdrawn.class, SessionWithdrawn::fromJson);
    register(bus, PortsUpdate.class, PortsUpdate::fromJson);
    register(bus, NodeCertReport.class, NodeCertReport::fromJson);
    register(bus, RouteChanged.class, RouteChanged::fromJson);
    register(bus, SessionKick.class, SessionKick::fromJson);
    register(bus, TailnetPolicy.class, TailnetPolicy::fromJson);
    register(bus, OpenRequest.class, OpenRequest::fromJson);
    register(bus, NameQuery.class, NameQuery::fromJson);
    register(bus, NameStatus.class, NameStatus::fromJson);
    register(bus, RoutableNames.class, RoutableNames::fromJson);
    register(bus, DnsChallenge.class, DnsChallenge::fromJson);
    register(bus, ProbeRequest.class, ProbeRequest::fromJson);
    register(bus, ProbeResult.class, ProbeResult::fromJson);
    register(bus, DnsLookup.class, DnsLookup::fromJson);
    register(bus, MemberStats.class, MemberStats::fromJson);
    register(bus, AcmeChallengeRequest.class, AcmeChallengeRequest::fromJson);
    register(bus, AliasInfo.class, AliasInfo::fromJson);
    register(bus, AliasStatus.class, AliasStatus::fromJson);
    register(bus, VerifiedAliases.class, VerifiedAliases::fromJson);
  }

  private static <T extends BusMessage> void register(EventBus bus, Class<T> type, Function<io.vertx.core.json.JsonObject, T> from) {
    bus.registerDefaultCodec(type, new JsonRecordCodec<>(type, from));
  }

  static List<Integer> intList(JsonArray array) {
    List<Integer> out = new ArrayList<>();
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        out.add(array.getInteger(i));
      }
    }
    return out;
  }
}
