"""Every alarm notifies someone when it fires and when it recovers, on an encrypted topic."""


def test_every_alarm_has_alarm_and_ok_actions_on_a_topic(templates):
    checked = 0
    for name, cfn in templates.items():
        topics = {lid for lid in cfn.of_type("AWS::SNS::Topic")}
        for lid, alarm in cfn.of_type("AWS::CloudWatch::Alarm").items():
            props = alarm["Properties"]
            for key in ("AlarmActions", "OKActions"):
                actions = props.get(key)
                assert actions, f"{name}:{lid} has no {key}"
                assert all(a.get("Ref") in topics for a in actions), f"{name}:{lid} {key}"
            checked += 1
    assert checked >= 2


def test_alarm_topics_are_encrypted_with_the_customer_key(templates):
    for name, cfn in templates.items():
        topics = cfn.of_type("AWS::SNS::Topic")
        assert topics, name
        for lid, topic in topics.items():
            assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}, lid
