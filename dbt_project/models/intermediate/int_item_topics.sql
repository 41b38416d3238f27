{#- Each item's topic from the shared taxonomy (seeds/topic_taxonomy.csv, keyed by source and
    category); an unmapped category has no topic (NULL). -#}
with

items as (

    select * from {{ ref('int_items_unified') }}

),

taxonomy as (

    select * from {{ ref('topic_taxonomy') }}

),

final as (

    select
        items.item_key,
        items.source,
        items.item_id,
        items.category,
        taxonomy.topic
    from items
    left join taxonomy
        on items.source = taxonomy.source
        and items.category = taxonomy.category

)

select * from final
