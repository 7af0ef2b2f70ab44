package dev.funnel.common.bus;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * What Funnel's public DNS answers for a name ({@link Addresses#DNS_LOOKUP}, asked with a
 * {@link NameQuery}): where it listens, the response code, and the A/AAAA addresses it gives.
 */
public record DnsLookup(String listen, String rcode, List<String> addresses) implements BusMessage {

  public DnsLookup {
    addresses = addresses == null ? List.of() : List.copyOf(addresses);
  }

  public static DnsLookup fromJson(JsonObject json) {
    List<String> out = new ArrayList<>();
    JsonArray array = json.getJsonArray("addresses");
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        out.add(String.valueOf(array.getValue(i)));
      }
    }
    return new DnsLookup(json.getString("listen"), json.getString("rcode"), out);
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject().put("listen", listen).put("rcode", rcode).put("addresses", new JsonArray(addresses));
  }
}
