// Sends `count` requests through an HttpClient at once and waits for all their outcomes (both net
// test suites drive loads this way).
#pragma once
#include "net/http_client.h"

#include <QEventLoop>

#include <vector>

inline std::vector<knee::net::HttpOutcome> sendMany(knee::net::HttpClient& client, int count)
{
    std::vector<knee::net::HttpOutcome> outcomes;
    QEventLoop loop;
    int left = count;
    for (int i = 0; i < count; ++i)
        client.send(client.now(), i).then([&](knee::net::HttpOutcome o) {
            outcomes.push_back(std::move(o));
            if (--left == 0)
                loop.quit();
        });
    if (left > 0)
        loop.exec();
    return outcomes;
}
