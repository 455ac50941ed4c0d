select channel, channel_group, is_online from {{ ref('channels') }}
