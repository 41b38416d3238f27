{#- Orphan references per source and day: interactions naming an item that is not in dim_item
    (never delivered, or its row was quarantined). They stay in fct_interactions as late-arriving
    facts and ml_interactions leaves them out until the item arrives; this is where they are
    counted (the `xrec run` summary and the run report read it). -#}
with

interactions as (

    select * from {{ ref('fct_interactions') }}

),

items as (

    select * from {{ ref('dim_item') }}

),

orphans as (

    select interactions.*
    from interactions
    left join items on interactions.item_key = items.item_key
    where items.item_key is null

),

final as (

    select
        source,
        occurred_date,
        count(*)::integer as orphan_interactions,
        count(distinct item_key)::integer as orphan_items
    from orphans
    group by source, occurred_date

)

select * from final
